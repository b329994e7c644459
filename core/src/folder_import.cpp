#include "medsyn/core/folder_import.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <vector>

#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

// Keeps names readable in file names: [A-Za-z0-9._-], others -> '_', at most 60 characters.
std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (out.size() > 60) out.resize(60);
  return out;
}

std::string raster_format(const fs::path& p) {
  const std::string e = lower(p.extension().string());
  if (e == ".jpg" || e == ".jpeg") return "jpeg";
  if (e == ".tif" || e == ".tiff") return "tiff";
  return e.empty() ? "" : e.substr(1);
}

std::string stem_of(const fs::path& p) {
  std::string n = p.filename().string();
  const std::string l = lower(n);
  if (l.size() > 7 && l.compare(l.size() - 7, 7, ".nii.gz") == 0) return n.substr(0, n.size() - 7);
  return p.stem().string();
}

bool inside(const fs::path& child, const fs::path& parent) {
  const fs::path c = fs::weakly_canonical(child), p = fs::weakly_canonical(parent);
  auto ci = c.begin();
  for (auto pi = p.begin(); pi != p.end(); ++pi, ++ci) {
    if (pi->empty()) continue;  // trailing separator
    if (ci == c.end() || *ci != *pi) return false;
  }
  return true;
}

struct SourceEntry {
  std::string rel;    // relative to SRC, '/'-separated
  std::string bad;    // why it cannot be imported ("" for a regular file)
  std::uint64_t size = 0;
};

const char* kind_of(const fs::file_status& st) {
  switch (st.type()) {
    case fs::file_type::fifo: return "a FIFO (named pipe)";
    case fs::file_type::character: return "a character device";
    case fs::file_type::block: return "a block device";
    case fs::file_type::socket: return "a socket";
    case fs::file_type::directory: return "a folder";
    default: return "not a regular file";
  }
}

// Why the symbolic link `p` cannot be imported, or "" when its target is a regular file that
// may be read (inside SRC, or anywhere with follow_symlinks).
std::string link_problem(const fs::path& p, const fs::path& src_real, bool follow, std::uint64_t* size) {
  std::error_code ec;
  const fs::path target = fs::canonical(p, ec);
  if (ec) {
    if (ec == std::errc::too_many_symbolic_link_levels) return "symbolic link loop (the link leads back to itself)";
    if (ec == std::errc::no_such_file_or_directory) {
      std::error_code e2;
      return "dangling symbolic link (its target " + fs::read_symlink(p, e2).string() + " does not exist)";
    }
    return "cannot resolve symbolic link: " + ec.message();
  }
  const fs::file_status st = fs::status(target, ec);
  if (fs::is_directory(st)) return "symbolic link to a folder (links to folders are not followed)";
  if (!fs::is_regular_file(st)) return std::string("symbolic link to ") + kind_of(st) + " " + target.string() + ", not a regular file";
  const fs::path rel = target.lexically_relative(src_real);
  const bool inside_src = !rel.empty() && *rel.begin() != "..";
  if (!inside_src && !follow)
    return "symbolic link to " + target.string() + ", outside the source folder (refused by default, see docs/reliability.md)";
  *size = fs::file_size(target, ec);
  return "";
}

std::vector<SourceEntry> list_source(const fs::path& src, bool follow) {
  std::error_code ec;
  const fs::path src_real = fs::canonical(src, ec);
  if (ec) throw InputError(at_file(src.string(), "cannot resolve the source folder: " + ec.message()));
  std::vector<SourceEntry> out;
  for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code e2;
    const fs::file_status lst = it->symlink_status(e2);  // never follows: no loop can throw here
    if (is_hidden(p)) {
      if (fs::is_directory(lst)) it.disable_recursion_pending();
      continue;
    }
    if (fs::is_directory(lst)) continue;  // recursed into
    SourceEntry e;
    e.rel = p.lexically_relative(src).generic_string();  // not fs::relative: it would resolve links
    if (fs::is_regular_file(lst)) e.size = it->file_size(e2);
    else if (fs::is_symlink(lst)) e.bad = link_problem(p, src_real, follow, &e.size);
    else e.bad = std::string("is ") + kind_of(lst) + ", not a regular file";
    out.push_back(std::move(e));
  }
  if (ec) throw InputError(at_file(src.string(), "cannot list folder: " + ec.message()));
  std::sort(out.begin(), out.end(), [](const SourceEntry& a, const SourceEntry& b) { return a.rel < b.rel; });
  return out;
}

json window_json(const Window& w) {
  json j = {{"center", w.center}, {"width", w.width}, {"source", w.source}};
  if (!w.name.empty()) j["name"] = w.name;
  return j;
}

}  // namespace

std::string expand_prompt(const std::string& tmpl, const std::string& modality, const std::string& label,
                          const std::string& specialty, bool have_label) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    const auto close = tmpl.find('}', i);
    if (close == std::string::npos) throw OptionError("prompt", "unclosed '{' in '" + tmpl + "'");
    const std::string key = tmpl.substr(i + 1, close - i - 1);
    if (key == "modality") {
      std::string m = modality;
      std::replace(m.begin(), m.end(), '_', ' ');
      out += m;
    } else if (key == "label") {
      if (!have_label) throw OptionError("prompt", "{label} needs labels_from_subfolders");
      out += label;
    } else if (key == "specialty") {
      out += specialty;
    } else {
      throw OptionError("prompt", "unknown placeholder {" + key + "} (known: {modality}, {label}, {specialty})");
    }
    i = close + 1;
  }
  return out;
}

FolderImportResult import_folder(const fs::path& src, const fs::path& out, const FolderImportOptions& opts) {
  if (opts.modality.empty()) throw OptionError("modality", "is required and must not be empty");
  if (opts.png_bits != 0 && opts.png_bits != 8 && opts.png_bits != 16)
    throw OptionError("png_bits", "expected 8 or 16, got " + std::to_string(opts.png_bits));
  if (opts.slice_step < 1) throw OptionError("slice_step", "must be >= 1");
  if (opts.axis < 0 || opts.axis > 2) throw OptionError("axis", "must be x, y or z");
  std::error_code ec;
  if (!fs::exists(src, ec)) throw InputError(at_file(src.string(), "source folder does not exist"));
  if (!fs::is_directory(src, ec)) throw InputError(at_file(src.string(), "is not a folder"));
  if (inside(out, src))
    throw InputError(at_file(out.string(), "the output folder must not be inside the source folder " + src.string()));
  const std::string tmpl = !opts.prompt_template.empty() ? opts.prompt_template
                           : opts.labels_from_subfolders ? "{modality}, {label}"
                                                         : "{modality}";
  (void)expand_prompt(tmpl, opts.modality, "x", opts.specialty, opts.labels_from_subfolders);  // validate early

  check_dataset_output(out, opts.overwrite);

  // Entries, sorted by relative path. Only regular files are imported; everything else that is
  // not hidden (FIFOs, devices, sockets, dangling links, link loops, links to folders, links out
  // of SRC unless follow_symlinks) is kept with the reason, so it is an error naming it, or a
  // line in skipped.jsonl with skip_bad.
  std::vector<SourceEntry> entries = list_source(src, opts.follow_symlinks);
  if (entries.empty()) throw InputError(at_file(src.string(), "folder is empty (no files to import)"));
  std::vector<std::string> files;
  for (const auto& e : entries) files.push_back(e.rel);
  std::uint64_t need = 0;  // a lower bound: PNGs of 8-bit sources are rarely larger than them
  for (const auto& e : entries) need += e.size + 4096 + 400;
  require_free_space(out.has_parent_path() ? out.parent_path() : fs::path("."), need,
                     "importing " + std::to_string(entries.size()) + " files");

  // Label names: first folder under SRC, ids in sorted order.
  std::map<std::string, long> label_ids;
  if (opts.labels_from_subfolders) {
    std::set<std::string> names;
    for (const auto& f : files)
      if (auto slash = f.find('/'); slash != std::string::npos) names.insert(f.substr(0, slash));
    if (names.empty())
      throw InputError(at_file(src.string(), "labels_from_subfolders is set but there are no subfolders (put images in SRC/<label>/...)"));
    long id = 0;
    for (const auto& n : names) label_ids[n] = id++;
  }

  // Everything is written into the sibling OUT.partial, which becomes OUT only when the whole
  // import succeeded: a failed or interrupted import leaves nothing (no images, no empty folder),
  // and an earlier dataset is replaced whole (check_dataset_output allowed it).
  StagedDir stage(out);
  const fs::path images_dir = stage.path() / "images";
  ensure_dir(images_dir);

  FolderImportResult res;
  res.files = files.size();
  std::string skipped_text;
  ManifestWriter writer(stage.path());
  std::vector<std::string> first_reasons;
  Progress progress("import folder", static_cast<std::int64_t>(files.size()), "files");
  bool warned_window = false;
  for (const SourceEntry& entry : entries) {
    const std::string& rel = entry.rel;
    const fs::path path = src / rel;
    try {
      if (!entry.bad.empty()) throw InputError(at_file(path.string(), entry.bad));
      std::string label_name;
      std::optional<long> label;
      if (opts.labels_from_subfolders) {
        const auto slash = rel.find('/');
        if (slash == std::string::npos)
          throw InputError(at_file(path.string(), "is not inside a label subfolder (labels_from_subfolders is set)"));
        label_name = rel.substr(0, slash);
        label = label_ids.at(label_name);
      }
      const std::string prompt = expand_prompt(tmpl, opts.modality, label_name, opts.specialty, label.has_value());
      // Decode everything first, then write: a bad file leaves no image behind.
      struct Out {
        Image img;
        json extra;
        std::string suffix;
      };
      std::vector<Out> outs;
      std::string format;
      if (is_nifti_file(path) || is_dicom_file(path)) {
        const bool nifti = is_nifti_file(path);
        format = nifti ? "nifti" : "dicom";
        std::size_t nonfinite = 0;
        const SampleStack s = nifti ? read_nifti(path, opts.axis, opts.slice_step, &nonfinite) : read_dicom(path);
        if (nonfinite) log_warn(path.string() + ": " + std::to_string(nonfinite) + " NaN/Inf voxels set to 0");
        const Normalisation n = choose_normalisation(s, opts.window);
        json norm = {{"method", n.method}, {"lo", n.lo}, {"hi", n.hi}, {"invert", n.invert}};
        for (int i = 0; i < s.count; ++i) {
          Out o;
          o.img = normalise(s, i, n);
          o.extra["normalisation"] = norm;
          if (n.window) o.extra["window"] = window_json(*n.window);
          o.extra["units"] = s.units;
          char buf[48];
          if (nifti) {
            o.extra["slice"] = s.index[i];
            o.extra["axis"] = slice_axis_name(s.axis);
            o.extra["volume"] = s.volume[i];
            if (s.volume.back() > 0) std::snprintf(buf, sizeof buf, "_t%03d_%s%04d", s.volume[i], slice_axis_name(s.axis), s.index[i]);
            else std::snprintf(buf, sizeof buf, "_%s%04d", slice_axis_name(s.axis), s.index[i]);
            if (nonfinite) o.extra["nonfinite_voxels_set_to_0"] = nonfinite;
          } else {
            o.extra["frame"] = s.index[i];
            if (!s.modality_tag.empty()) o.extra["dicom_modality"] = s.modality_tag;
            o.extra["transfer_syntax"] = s.transfer_syntax;
            o.extra["photometric"] = s.photometric;
            std::snprintf(buf, sizeof buf, s.count > 1 ? "_f%04d" : "", s.index[i]);
          }
          o.suffix = buf;
          outs.push_back(std::move(o));
        }
      } else if (is_raster_image_file(path)) {
        format = raster_format(path);
        Out o;
        o.img = read_image(path);
        if (o.img.channels == 2) o.img = to_channels(o.img, 1);  // gray + alpha: keep gray
        o.extra["normalisation"] = {{"method", "bit_depth"}};
        if (opts.window && !warned_window) {
          log_warn("the window option applies to DICOM and NIfTI values; " + format + " files such as " + path.string() +
                   " are imported unchanged");
          warned_window = true;
        }
        outs.push_back(std::move(o));
      } else {
        throw InputError(at_file(path.string(), "unknown image format (expected PNG, JPEG, TIFF, BMP, DICOM (.dcm or a DICM "
                                                "header) or NIfTI-1 (.nii, .nii.gz))"));
      }
      for (auto& o : outs) {
        const int bits = opts.png_bits ? opts.png_bits : exact_png_bit_depth(o.img);
        char num[16];
        std::snprintf(num, sizeof num, "%06zu_", res.images);
        const std::string fname = std::string(num) + sanitize(stem_of(path)) + o.suffix + ".png";
        const auto png = encode_png(o.img, bits);
        atomic_write_bytes(images_dir / fname, png);
        Record r;
        r.path = "images/" + fname;
        r.modality = opts.modality;
        r.specialty = opts.specialty;
        r.prompt = prompt;
        r.label = label;
        r.label_name = label_name;
        r.sha256 = sha256_hex(png.data(), png.size());
        json extra = o.extra;
        extra["source"] = rel;
        extra["format"] = format;
        extra["bit_depth"] = bits;
        r.extra_json = extra.dump();
        writer.add(r);
        ++res.images;
        if (label) res.per_label[label_name]++;
      }
      res.per_format[format] += 1;
    } catch (const InputError& e) {
      if (!opts.skip_bad) throw;
      skipped_text += json{{"file", rel}, {"reason", e.what()}}.dump() + "\n";
      if (first_reasons.size() < 3) first_reasons.push_back(e.what());
      ++res.skipped;
      log_warn(std::string("skipped: ") + e.what());
    }
    progress.advance();
  }
  progress.finish();
  if (res.images == 0) {
    std::string why;
    for (const auto& r : first_reasons) why += "\n  " + r;
    if (res.skipped > first_reasons.size()) why += "\n  ...";
    throw InputError(at_file(src.string(), "no image could be imported (" + std::to_string(res.skipped) +
                                               " file(s) skipped, nothing written):" + why));
  }
  if (opts.skip_bad) atomic_write_text(stage.path() / "skipped.jsonl", skipped_text);
  writer.commit();
  stage.commit();
  return res;
}

}  // namespace medsyn
