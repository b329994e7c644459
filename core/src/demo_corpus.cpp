#include "medsyn/core/demo_corpus.h"

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <sstream>

#include "medsyn/core/debian_package.h"
#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medical_io.h"
#include "medsyn/core/medmnist.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/core/progress.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

constexpr int kTile = 256;

std::vector<std::uint8_t> gunzip_file(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw InputError(at_file(path.string(), "cannot open"));
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> buf(1 << 20);
  int n;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) out.insert(out.end(), buf.begin(), buf.begin() + n);
  int err = 0;
  const std::string msg = gzerror(f, &err);
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) throw InputError(at_file(path.string(), "corrupt gzip data (" + msg + ")"));
  return out;
}

// Members of a (ustar) tar archive held in memory: name -> [offset, size).
std::map<std::string, std::pair<std::size_t, std::size_t>> tar_members(const std::vector<std::uint8_t>& t,
                                                                        const std::string& name) {
  std::map<std::string, std::pair<std::size_t, std::size_t>> out;
  std::size_t pos = 0;
  while (pos + 512 <= t.size()) {
    const char* h = reinterpret_cast<const char*>(t.data() + pos);
    if (h[0] == '\0') break;
    std::string fname(h, strnlen(h, 100));
    const std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty() && std::memcmp(h + 257, "ustar", 5) == 0) fname = prefix + "/" + fname;
    const std::size_t size = std::strtoull(std::string(h + 124, 12).c_str(), nullptr, 8);
    const char type = h[156];
    pos += 512;
    if (pos + size > t.size()) throw InputError(at_file(name, "truncated tar member '" + fname + "'"));
    if (type == '0' || type == '\0') out[fname] = {pos, size};
    pos += (size + 511) / 512 * 512;
  }
  return out;
}

Image crop(const Image& img, int y, int x, int h, int w) {
  Image out(img.channels, h, w);
  for (int c = 0; c < img.channels; ++c)
    for (int r = 0; r < h; ++r)
      std::copy(img.plane(c) + static_cast<std::size_t>(y + r) * img.width + x,
                img.plane(c) + static_cast<std::size_t>(y + r) * img.width + x + w,
                out.plane(c) + static_cast<std::size_t>(r) * w);
  return out;
}

// Evenly spaced indices in [lo*n, hi*n).
std::vector<int> spread(int n, double lo, double hi, int k) {
  std::vector<int> out;
  const double a = lo * n, b = hi * n;
  for (int i = 0; i < k; ++i) out.push_back(static_cast<int>(std::lround(a + (b - a) * i / std::max(1, k - 1))));
  return out;
}

json window_json(const Window& w) {
  json j = {{"center", w.center}, {"width", w.width}, {"source", w.source}};
  if (!w.name.empty()) j["name"] = w.name;
  return j;
}

struct Source {
  std::string package, version, file, licence;
};

class DemoWriter {
 public:
  DemoWriter(const fs::path& out) : out_(out), writer_(out) {}
  void add(const Image& img, const std::string& modality, const std::string& specialty, const std::string& prompt,
           const std::string& name, const Source& src, json extra) {
    const int bits = exact_png_bit_depth(img);
    const auto png = encode_png(img, bits);
    const std::string rel = "images/" + modality + "/" + name + ".png";
    atomic_write_bytes(out_ / rel, png);
    Record r;
    r.path = rel;
    r.modality = modality;
    r.specialty = specialty;
    r.prompt = prompt;
    r.sha256 = sha256_hex(png.data(), png.size());
    extra["source"] = src.package + ":" + src.file;
    extra["package"] = {{"name", src.package}, {"version", src.version}, {"licence", src.licence}};
    extra["bit_depth"] = bits;
    r.extra_json = extra.dump();
    writer_.add(r);
    per_modality[modality]++;
    per_source[src.package + ":" + src.file]++;
  }
  void add_record(const Record& r) {
    writer_.add(r);
    per_modality[r.modality]++;
  }
  void commit() { writer_.commit(); }
  std::map<std::string, std::size_t> per_modality, per_source;

 private:
  fs::path out_;
  ManifestWriter writer_;
};

}  // namespace

fs::path find_default_medmnist_dir() {
  std::error_code ec;
  if (const char* env = std::getenv("MEDSYN_SHARED_DATA_DIR"); env && *env) {
    const fs::path p = fs::path(env) / "medmnist";
    if (fs::is_directory(p, ec)) return p;
  }
  const fs::path cwd_rel = fs::current_path(ec) / ".." / "shared" / "data" / "medmnist";
  if (fs::is_directory(cwd_rel, ec)) return fs::weakly_canonical(cwd_rel, ec);
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    const fs::path exe_rel = fs::path(buf).parent_path() / ".." / ".." / ".." / "shared" / "data" / "medmnist";
    if (fs::is_directory(exe_rel, ec)) return fs::weakly_canonical(exe_rel, ec);
  }
  return {};
}

DemoResult build_demo_corpus(const DemoOptions& opts) {
  if (opts.out.empty()) throw OptionError("out", "an output folder is required");
  const fs::path cache = opts.cache_dir.empty() ? default_package_cache() : opts.cache_dir;
  fs::path mm_dir;
  if (opts.with_medmnist) {
    if (opts.medmnist_dir) {
      mm_dir = *opts.medmnist_dir;
      if (!fs::is_directory(mm_dir)) throw OptionError("medmnist_dir", mm_dir.string() + ": folder does not exist");
    } else {
      mm_dir = find_default_medmnist_dir();
    }
  }
  // Fetch every package before writing anything, so a network failure leaves OUT untouched.
  const std::vector<std::string> names = {"invesalius-examples", "mricron-data", "python3-skimage", "octave-dicom",
                                          "libgdcm3.0"};
  std::map<std::string, DebianPackage> pk;
  for (const auto& n : names) pk[n] = fetch_debian_package(n, cache);
  auto need = [&](const std::string& pkg, const std::string& rel) {
    const fs::path p = pk.at(pkg).file(rel);
    if (!fs::exists(p)) throw Error(at_file(p.string(), "expected file missing from package " + pkg + " " + pk.at(pkg).version));
    return p;
  };

  std::error_code ec;
  fs::remove_all(opts.out / "images", ec);
  fs::remove_all(opts.out / "medmnist", ec);
  ensure_dir(opts.out);
  DemoWriter w(opts.out);
  DemoResult res;
  for (const auto& n : names) res.packages.push_back(n + " " + pk[n].version);

  // Head CT: InVesalius project = gzip tar with matrix.dat (int16 HU, C order, shape in main.plist).
  {
    const std::string rel = "usr/share/doc/invesalius-examples/examples/Cranium.inv3";
    const fs::path inv = need("invesalius-examples", rel);
    const auto tar = gunzip_file(inv);
    const auto members = tar_members(tar, inv.string());
    const std::pair<std::size_t, std::size_t>* matrix = nullptr;
    const std::pair<std::size_t, std::size_t>* plist = nullptr;
    for (const auto& [name, span] : members) {
      if (fs::path(name).filename() == "matrix.dat") matrix = &span;
      if (fs::path(name).filename() == "main.plist") plist = &span;
    }
    if (!matrix || !plist) throw InputError(at_file(inv.string(), "no matrix.dat/main.plist inside (not an InVesalius 3 project?)"));
    const std::string pl(reinterpret_cast<const char*>(tar.data() + plist->first), plist->second);
    std::smatch m;
    if (!std::regex_search(pl, m, std::regex(R"(<key>dtype</key>\s*<string>(\w+)</string>)")) || m[1] != "int16")
      throw InputError(at_file(inv.string(), "main.plist: matrix dtype is not int16"));
    if (!std::regex_search(pl, m, std::regex(R"(<key>shape</key>\s*<array>\s*<integer>(\d+)</integer>\s*<integer>(\d+)</integer>\s*<integer>(\d+)</integer>)")))
      throw InputError(at_file(inv.string(), "main.plist: no matrix shape"));
    const int nz = std::stoi(m[1]), ny = std::stoi(m[2]), nx = std::stoi(m[3]);
    if (matrix->second != static_cast<std::size_t>(nz) * ny * nx * 2)
      throw InputError(at_file(inv.string(), "matrix.dat size does not match its shape in main.plist"));
    const Window brain = parse_window("brain");
    const Source src{"invesalius-examples", pk["invesalius-examples"].version, rel, "GPL-2"};
    const std::uint8_t* base = tar.data() + matrix->first;
    for (int z : spread(nz, 0.35, 0.85, 8)) {
      Image img(1, ny, nx);
      // Rows are stored posterior-first (the CT table at the top): flip so anterior is up, as
      // radiological viewers show axial slices.
      for (int y = 0; y < ny; ++y)
        for (int x = 0; x < nx; ++x) {
          std::int16_t v;  // little-endian file, x86/arm64 host
          std::memcpy(&v, base + ((static_cast<std::size_t>(z) * ny + y) * nx + x) * 2, 2);
          img.at(0, ny - 1 - y, x) = apply_window(v, brain);
        }
      char name[32];
      std::snprintf(name, sizeof name, "cranium_z%03d", z);
      w.add(img, "head_ct", "radiology", "head ct, axial slice, brain window", name, src,
            {{"slice", z}, {"axis", "z"}, {"flipped_vertically", true}, {"units", "HU"}, {"window", window_json(brain)},
             {"normalisation", {{"method", "window"}, {"lo", 0.0}, {"hi", 80.0}, {"invert", false}}}});
    }
  }
  // Brain MRI: Colin27 T1 (ch2), axial slices, normalised by the volume's min/max.
  {
    const std::string rel = "usr/share/mricron/templates/ch2.nii.gz";
    const fs::path p = need("mricron-data", rel);
    const SampleStack s = read_nifti(p, 2, 1);
    const Normalisation n = choose_normalisation(s, std::nullopt);
    const Source src{"mricron-data", pk["mricron-data"].version, rel, "BSD-3-Clause"};
    for (int z : spread(s.count, 0.3, 0.8, 8)) {
      char name[32];
      std::snprintf(name, sizeof name, "ch2_z%03d", s.index[z]);
      w.add(normalise(s, z, n), "brain_mri", "radiology", "brain mri, t1-weighted, axial slice", name, src,
            {{"slice", s.index[z]}, {"axis", "z"},
             {"normalisation", {{"method", n.method}, {"lo", n.lo}, {"hi", n.hi}, {"invert", false}}}});
    }
  }
  // Fundus, histopathology (IHC) and microscopy from scikit-image's data folder.
  const std::string skd = "usr/lib/python3/dist-packages/skimage/data/";
  {
    const std::string rel = skd + "retina.jpg";
    const Image img = read_image(need("python3-skimage", rel));
    const Source src{"python3-skimage", pk["python3-skimage"].version, rel, "CC0-1.0"};
    const json rz = {{"size", {kTile, kTile}}, {"filter", "bicubic"}, {"antialias", true}};
    w.add(resize(img, kTile, kTile, ResizeFilter::bicubic, true), "fundus", "ophthalmology", "fundus photograph",
          "retina_full", src, {{"resize", rz}});
    const int c = img.height * 5 / 10;  // crop side: half the image
    const int offs[4][2] = {{0, 0}, {0, img.width - c}, {img.height - c, 0}, {img.height - c, img.width - c}};
    for (int i = 0; i < 4; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "retina_crop%d", i);
      w.add(resize(crop(img, offs[i][0], offs[i][1], c, c), kTile, kTile, ResizeFilter::bicubic, true), "fundus",
            "ophthalmology", "fundus photograph, crop", name, src,
            {{"crop", {{"y", offs[i][0]}, {"x", offs[i][1]}, {"height", c}, {"width", c}}}, {"resize", rz}});
    }
  }
  auto tiles = [&](const std::string& file, const std::string& modality, const std::string& specialty,
                   const std::string& prompt, const std::string& licence) {
    const std::string rel = skd + file;
    const Image img = read_image(need("python3-skimage", rel));
    const Source src{"python3-skimage", pk["python3-skimage"].version, rel, licence};
    const std::string stem = fs::path(file).stem().string();
    for (int y = 0; y + kTile <= img.height && y < 2 * kTile; y += kTile)
      for (int x = 0; x + kTile <= img.width && x < 2 * kTile; x += kTile) {
        char name[48];
        std::snprintf(name, sizeof name, "%s_y%03d_x%03d", stem.c_str(), y, x);
        w.add(crop(img, y, x, kTile, kTile), modality, specialty, prompt, name, src,
              {{"crop", {{"y", y}, {"x", x}, {"height", kTile}, {"width", kTile}}}});
      }
  };
  tiles("ihc.png", "histopathology", "pathology", "immunohistochemistry histopathology", "public domain (no known restrictions)");
  tiles("cell.png", "microscopy", "pathology", "light microscopy, cell", "CC0-1.0");
  // DICOM: echocardiography (palette colour, RLE, 10 frames) and X-ray angiography (JPEG lossless, 4 frames).
  auto dicom_frames = [&](const std::string& pkg, const std::string& rel, const std::string& modality,
                          const std::string& specialty, const std::string& prompt, const std::string& licence) {
    const SampleStack s = read_dicom(need(pkg, rel));
    const Normalisation n = choose_normalisation(s, std::nullopt);
    const Source src{pkg, pk[pkg].version, rel, licence};
    const std::string stem = fs::path(rel).stem().string();
    for (int f = 0; f < s.count; ++f) {
      char name[96];
      std::snprintf(name, sizeof name, "%s_f%02d", stem.c_str(), f);
      w.add(normalise(s, f, n), modality, specialty, prompt, name, src,
            {{"frame", f}, {"transfer_syntax", s.transfer_syntax}, {"photometric", s.photometric},
             {"normalisation", {{"method", n.method}, {"lo", n.lo}, {"hi", n.hi}, {"invert", n.invert}}}});
    }
  };
  dicom_frames("octave-dicom", "usr/share/octave/packages/dicom-0.5.1/imdata/US-PAL-8-10x-echo.dcm", "echocardiography",
               "cardiology", "echocardiography ultrasound", "GPL-3+");
  dicom_frames("libgdcm3.0", "usr/share/doc/libgdcm3.0/examples/00191113.dcm", "xray_angiography", "radiology",
               "x-ray angiography", "BSD-3-Clause (GDCM)");

  // MedMNIST sets found in the data folder.
  std::string mm_rows;
  if (!mm_dir.empty()) {
    res.medmnist_dir = mm_dir;
    for (const auto& info : medmnist_catalog()) {
      const fs::path npz = mm_dir / (info.name + ".npz");
      if (!fs::exists(npz)) continue;
      const fs::path sub = opts.out / "medmnist" / info.name;
      import_medmnist(npz, sub, info.name);
      const std::string md5 = md5_file(npz);
      const Dataset ds = load_dataset(sub);
      for (Record r : ds.records) {
        r.path = "medmnist/" + info.name + "/" + r.path;
        json extra = json::parse(r.extra_json);
        extra["package"] = {{"name", "medmnist"}, {"licence", info.licence}, {"md5", md5},
                            {"official_md5", md5 == info.md5}};
        r.extra_json = extra.dump();
        w.add_record(r);
      }
      res.medmnist.push_back(info.name);
      mm_rows += "| MedMNIST v2 (" + npz.string() + ") | md5 " + md5 + (md5 == info.md5 ? " (official)" : " (not the official file)") +
                 " | " + info.name + ".npz | " + info.modality + " | " + std::to_string(ds.records.size()) + " | " +
                 info.licence + " |\n";
    }
  } else if (opts.with_medmnist) {
    log_info("no MedMNIST folder found (give medmnist_dir); the demo corpus has no MedMNIST sets");
  }

  // SOURCES.md
  std::ostringstream md;
  md << "# Demo corpus sources\n\nBuilt by `medsynbench data demo`. Images come from Debian packages (fetched with\n"
        "`apt-get download` and unpacked with `dpkg-deb -x`, nothing installed) and MedMNIST v2 files.\n\n"
        "| source | version | file | modality | images | licence |\n|---|---|---|---|---|---|\n";
  struct Row { const char* pkg; const char* file; const char* modality; const char* licence; };
  const Row rows[] = {
      {"invesalius-examples", "usr/share/doc/invesalius-examples/examples/Cranium.inv3", "head_ct", "GPL-2"},
      {"mricron-data", "usr/share/mricron/templates/ch2.nii.gz", "brain_mri", "BSD-3-Clause"},
      {"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/retina.jpg", "fundus", "CC0-1.0"},
      {"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/ihc.png", "histopathology", "public domain (no known restrictions)"},
      {"python3-skimage", "usr/lib/python3/dist-packages/skimage/data/cell.png", "microscopy", "CC0-1.0"},
      {"octave-dicom", "usr/share/octave/packages/dicom-0.5.1/imdata/US-PAL-8-10x-echo.dcm", "echocardiography", "GPL-3+"},
      {"libgdcm3.0", "usr/share/doc/libgdcm3.0/examples/00191113.dcm", "xray_angiography", "BSD-3-Clause (GDCM)"}};
  for (const auto& r : rows)
    md << "| Debian `" << r.pkg << "` | " << pk[r.pkg].version << " | `" << r.file << "` | " << r.modality << " | "
       << w.per_source[std::string(r.pkg) + ":" + r.file] << " | " << r.licence << " |\n";
  md << mm_rows;
  md << "\nMedMNIST: Yang, J. et al. \"MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical\n"
        "image classification.\" Scientific Data 10, 41 (2023); cite the source data sets too.\n"
        "Head CT: InVesalius example project (CTI Renato Archer). Brain MRI: Colin27 T1 template (Holmes et al. 1998)\n"
        "as shipped with MRIcron. DICOM samples: GDCM and Octave dicom test data.\n";
  atomic_write_text(opts.out / "SOURCES.md", md.str());
  w.commit();
  res.per_modality = w.per_modality;
  for (const auto& [m, k] : res.per_modality) res.images += k;
  return res;
}

}  // namespace medsyn
