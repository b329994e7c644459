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

  // Files, sorted by relative path.
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (is_hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(fs::relative(it->path(), src).generic_string());
  }
  if (ec) throw InputError(at_file(src.string(), "cannot list folder: " + ec.message()));
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(at_file(src.string(), "folder is empty (no files to import)"));

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

  // An earlier import in OUT.
  const fs::path images_dir = out / "images";
  const bool has_old = fs::exists(out / "manifest.jsonl", ec) ||
                       (fs::is_directory(images_dir, ec) && !fs::is_empty(images_dir, ec));
  if (has_old && !opts.overwrite)
    throw InputError(at_file(out.string(), "already holds a dataset (manifest.jsonl or images/); choose another output "
                                           "folder or set overwrite"));
  // Images go to a staging folder that becomes OUT/images only when the whole import succeeded,
  // so a failed or interrupted import leaves no images behind (and never half of a dataset).
  struct Staging {
    fs::path dir;
    bool keep = false;
    ~Staging() {
      std::error_code e;
      if (!keep) fs::remove_all(dir, e);
    }
  } staging{out / ".images.partial"};
  fs::remove_all(staging.dir, ec);  // left by a killed run
  ensure_dir(staging.dir);

  FolderImportResult res;
  res.files = files.size();
  std::string skipped_text;
  ManifestWriter writer(out);
  Progress progress("import folder", static_cast<std::int64_t>(files.size()), "files");
  bool warned_window = false;
  for (const std::string& rel : files) {
    const fs::path path = src / rel;
    try {
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
        atomic_write_bytes(staging.dir / fname, png);
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
      ++res.skipped;
      log_warn(std::string("skipped: ") + e.what());
    }
    progress.advance();
  }
  progress.finish();
  if (opts.skip_bad) atomic_write_text(out / "skipped.jsonl", skipped_text);
  else fs::remove(out / "skipped.jsonl", ec);  // from an earlier import
  if (res.images == 0)
    throw InputError(at_file(src.string(), "no image could be imported (" + std::to_string(res.skipped) +
                                               " file(s) skipped; see " + (out / "skipped.jsonl").string() + ")"));
  if (has_old) {
    fs::remove_all(images_dir, ec);
    fs::remove(out / "manifest.jsonl", ec);
  }
  fs::rename(staging.dir, images_dir, ec);
  if (ec) throw InputError(at_file(images_dir.string(), "cannot move the imported images into place: " + ec.message()));
  staging.keep = true;
  writer.commit();
  return res;
}

}  // namespace medsyn
