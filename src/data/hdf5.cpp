#include "data/hdf5.h"

#include <H5LTpublic.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stitch::h5 {
namespace {

Handle must(hid_t id, Handle::Closer closer, const std::string& what) {
  if (id < 0) throw Error(what);
  return Handle(id, closer);
}

Handle dataset_handle(const File& f, const std::string& name) {
  return must(H5Dopen2(f.id(), name.c_str(), H5P_DEFAULT), H5Dclose,
              fmt::format("{}: cannot open dataset '{}'", f.path(), name));
}

Handle chunked_plist(const std::vector<hsize_t>& dims, int gzip_level) {
  Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  // No modification times in object headers: the same data gives a byte-identical file.
  H5Pset_obj_track_times(plist.get(), false);
  if (gzip_level > 0 && !dims.empty() && dims[0] > 0) {
    std::vector<hsize_t> chunk = dims;
    // About 64k elements per chunk, whole rows.
    hsize_t row = 1;
    for (size_t i = 1; i < dims.size(); ++i) row *= std::max<hsize_t>(dims[i], 1);
    chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], 65536 / row));
    H5Pset_chunk(plist.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(plist.get(), static_cast<unsigned>(gzip_level));
  }
  return plist;
}

}  // namespace

void install_hdf5_error_handler() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && closer_ != nullptr) closer_(id_);
  id_ = H5I_INVALID_HID;
}

File File::open_read(const std::string& path) {
  install_hdf5_error_handler();
  File f;
  f.path_ = path;
  if (FILE* probe = std::fopen(path.c_str(), "rb")) {
    std::fclose(probe);
  } else {
    fail("{}: cannot open ({})", path, std::strerror(errno));
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) fail("{}: not an HDF5 file (or truncated)", path);
  f.file_ = must(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
                 fmt::format("{}: cannot open as HDF5 (truncated or corrupt)", path));
  return f;
}

File File::create(const std::string& path) {
  install_hdf5_error_handler();
  File f;
  f.path_ = path;
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  // Track creation order so that groups list members in the order written (as h5py's
  // track_order=True, which Minari uses).
  H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_obj_track_times(fcpl.get(), false);
  f.file_ = must(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), H5Fclose,
                 fmt::format("{}: cannot create HDF5 file", path));
  return f;
}

File File::open_image(const void* data, size_t size, const std::string& name) {
  install_hdf5_error_handler();
  File f;
  f.path_ = name;
  const hid_t id = H5LTopen_file_image(const_cast<void*>(data), size,
                                       H5LT_FILE_IMAGE_DONT_COPY | H5LT_FILE_IMAGE_DONT_RELEASE);
  f.file_ = must(id, H5Fclose, fmt::format("{}: not an HDF5 file (or truncated)", name));
  return f;
}

bool File::exists(const std::string& object) const {
  // Walk the path so that a missing intermediate group is not an error.
  std::string prefix;
  size_t start = object.front() == '/' ? 1 : 0;
  while (start <= object.size()) {
    const size_t slash = object.find('/', start);
    prefix = object.substr(0, slash);
    if (prefix.empty()) return true;
    if (H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (H5Oexists_by_name(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
  return true;
}

bool File::is_group(const std::string& object) const {
  if (!exists(object)) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name2(file_.get(), object.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    return false;
  }
  return info.type == H5O_TYPE_GROUP;
}

std::vector<std::string> File::members(const std::string& group) const {
  Handle g = must(H5Gopen2(file_.get(), group.c_str(), H5P_DEFAULT), H5Gclose,
                  fmt::format("{}: cannot open group '{}'", path_, group));
  H5G_info_t info;
  if (H5Gget_info(g.get(), &info) < 0) fail("{}: cannot list group '{}'", path_, group);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) fail("{}: cannot read member {} of '{}'", path_, i, group);
    std::string name(static_cast<size_t>(len), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    names.push_back(name);
  }
  return names;
}

DatasetShape File::shape(const std::string& dataset) const {
  Handle d = dataset_handle(*this, dataset);
  Handle space = must(H5Dget_space(d.get()), H5Sclose,
                      fmt::format("{}: cannot read the shape of '{}'", path_, dataset));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail("{}: cannot read the shape of '{}'", path_, dataset);
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Handle type = must(H5Dget_type(d.get()), H5Tclose,
                     fmt::format("{}: cannot read the type of '{}'", path_, dataset));
  DatasetShape s;
  s.dims.assign(dims.begin(), dims.end());
  s.type_class = H5Tget_class(type.get());
  s.type_size = H5Tget_size(type.get());
  return s;
}

int64_t element_count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > std::numeric_limits<int64_t>::max() / d)) return -1;
    n *= d;
  }
  return n;
}

int64_t File::max_value_bytes() const {
  hsize_t file_bytes = 0;
  H5Fget_filesize(file_.get(), &file_bytes);
  constexpr hsize_t kMaxFile = hsize_t{1} << 50;  // 1 PiB: keeps the product in int64
  return 1032 * static_cast<int64_t>(std::clamp<hsize_t>(file_bytes, 4096, kMaxFile));
}

std::vector<float> File::read_floats(const std::string& dataset, DatasetShape* shape_out) const {
  return read_numeric<float>(dataset, H5T_NATIVE_FLOAT, shape_out);
}

std::vector<double> File::read_doubles(const std::string& dataset, DatasetShape* shape_out) const {
  return read_numeric<double>(dataset, H5T_NATIVE_DOUBLE, shape_out);
}

template <class T>
std::vector<T> File::read_numeric(const std::string& dataset, hid_t native_type,
                                  DatasetShape* shape_out) const {
  const DatasetShape s = shape(dataset);
  if (shape_out != nullptr) *shape_out = s;
  // Guard against absurd sizes from a corrupt header before allocating.
  const int64_t n = element_count(s.dims);
  if (n < 0 || n > max_value_bytes() / static_cast<int64_t>(sizeof(T))) {
    fail("{}: '{}' claims {} elements, more than this file can hold (corrupt header)", path_,
         dataset, fmt::join(s.dims, " x "));
  }
  std::vector<T> out(static_cast<size_t>(n));
  if (n == 0) return out;
  Handle d = dataset_handle(*this, dataset);
  if (s.type_class == H5T_FLOAT || s.type_class == H5T_INTEGER) {
    if (H5Dread(d.get(), native_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
      fail("{}: cannot read '{}' (file truncated or corrupt)", path_, dataset);
    }
    return out;
  }
  if (s.type_class == H5T_ENUM) {
    // h5py stores numpy bools as an enum over int8; read the raw integers.
    Handle file_type(H5Dget_type(d.get()), H5Tclose);
    // libhdf5 1.10 overflows a heap buffer in H5Tget_native_type when an enum's size differs
    // from its base integer's (found by the fuzzer): check that first.
    Handle file_base(H5Tget_super(file_type.get()), H5Tclose);
    const size_t file_size = H5Tget_size(file_type.get());
    if (!file_base.valid() || H5Tget_class(file_base.get()) != H5T_INTEGER ||
        file_size != H5Tget_size(file_base.get()) || file_size == 0 || file_size > 8) {
      fail("{}: '{}' has a corrupt enum type (size {})", path_, dataset, file_size);
    }
    Handle mem_type(H5Tget_native_type(file_type.get(), H5T_DIR_ASCEND), H5Tclose);
    Handle base(H5Tget_super(mem_type.get()), H5Tclose);
    const size_t size = H5Tget_size(mem_type.get());
    const bool is_signed = H5Tget_sign(base.get()) == H5T_SGN_2;
    if (size != 1 && size != 2 && size != 4 && size != 8) {
      fail("{}: '{}' has an unsupported enum size {}", path_, dataset, size);
    }
    std::vector<unsigned char> raw(static_cast<size_t>(n) * size);
    if (H5Dread(d.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0) {
      fail("{}: cannot read '{}' (file truncated or corrupt)", path_, dataset);
    }
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = 0;
      const unsigned char* p = raw.data() + i * size;
      switch (size) {
        case 1:
          v = is_signed ? int64_t{static_cast<int8_t>(*p)} : int64_t{*p};
          break;
        case 2: {
          int16_t x;
          std::memcpy(&x, p, 2);
          v = is_signed ? x : static_cast<uint16_t>(x);
          break;
        }
        case 4: {
          int32_t x;
          std::memcpy(&x, p, 4);
          v = is_signed ? x : static_cast<uint32_t>(x);
          break;
        }
        default: {
          int64_t x;
          std::memcpy(&x, p, 8);
          v = x;
          break;
        }
      }
      out[i] = static_cast<T>(v);
    }
    return out;
  }
  fail("{}: '{}' is not numeric (HDF5 type class {})", path_, dataset,
       static_cast<int>(s.type_class));
}

std::optional<double> File::read_number(const std::string& dataset) const {
  const DatasetShape s = shape(dataset);
  const int64_t count = element_count(s.dims);
  if (count != 1 || (s.type_class != H5T_FLOAT && s.type_class != H5T_INTEGER)) return std::nullopt;
  Handle d = dataset_handle(*this, dataset);
  double value = 0;
  if (H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0) {
    fail("{}: cannot read '{}'", path_, dataset);
  }
  return value;
}

std::optional<std::string> File::read_string(const std::string& dataset) const {
  Handle d = dataset_handle(*this, dataset);
  Handle type(H5Dget_type(d.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
  Handle space(H5Dget_space(d.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) return std::nullopt;
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));  // HDF5 does not convert between csets
    char* value = nullptr;
    if (H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0) return std::nullopt;
    std::string out = value != nullptr ? value : "";
    H5free_memory(value);
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0) return std::nullopt;
  if (size > static_cast<size_t>(max_value_bytes())) {
    fail("{}: string '{}' claims {} bytes, more than this file can hold (corrupt header)", path_,
         dataset, size);
  }
  std::string out(size, '\0');
  if (H5Dread(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    return std::nullopt;
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::vector<std::string> File::attribute_names(const std::string& object) const {
  Handle o = must(H5Oopen(file_.get(), object.c_str(), H5P_DEFAULT), H5Oclose,
                  fmt::format("{}: cannot open '{}'", path_, object));
  H5O_info_t info;
  if (H5Oget_info2(o.get(), &info, H5O_INFO_NUM_ATTRS) < 0) return {};
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t len =
        H5Aget_name_by_idx(o.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) continue;
    std::string name(static_cast<size_t>(len), '\0');
    H5Aget_name_by_idx(o.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    names.push_back(name);
  }
  return names;
}

std::string File::attribute_json(const std::string& object, const std::string& name) const {
  Handle a =
      must(H5Aopen_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
           H5Aclose, fmt::format("{}: cannot open attribute '{}' of '{}'", path_, name, object));
  Handle type(H5Aget_type(a.get()), H5Tclose);
  Handle space(H5Aget_space(a.get()), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_STRING && count == 1) {
    if (H5Tis_variable_str(type.get()) > 0) {
      Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mem.get(), H5T_VARIABLE);
      H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
      char* value = nullptr;
      if (H5Aread(a.get(), mem.get(), &value) < 0) return "null";
      nlohmann::json j = std::string(value != nullptr ? value : "");
      H5free_memory(value);
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    const size_t size = H5Tget_size(type.get());
    if (size == 0 || size > static_cast<size_t>(max_value_bytes())) return "null";
    std::string s(size, '\0');
    if (H5Aread(a.get(), type.get(), s.data()) < 0) return "null";
    s.resize(std::strlen(s.c_str()));
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && count >= 1 && count <= 4096) {
    std::vector<double> values(static_cast<size_t>(count));
    if (H5Aread(a.get(), H5T_NATIVE_DOUBLE, values.data()) < 0) return "null";
    nlohmann::json j;
    if (count == 1) {
      j = values[0];
      if (cls == H5T_INTEGER) j = static_cast<int64_t>(values[0]);
    } else {
      j = values;
    }
    return j.dump();
  }
  return "null";  // other types are not carried over
}

void File::create_group(const std::string& group) {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_obj_track_times(gcpl.get(), false);
  must(H5Gcreate2(file_.get(), group.c_str(), lcpl.get(), gcpl.get(), H5P_DEFAULT), H5Gclose,
       fmt::format("{}: cannot create group '{}'", path_, group));
}

void File::ensure_parents(const std::string& object) {
  size_t slash = object.find('/', 1);
  while (slash != std::string::npos) {
    const std::string parent = object.substr(0, slash);
    if (!exists(parent)) create_group(parent);
    slash = object.find('/', slash + 1);
  }
}

void File::write_floats(const std::string& dataset, const float* data,
                        const std::vector<int64_t>& dims, int gzip_level) {
  write_numeric(dataset, data, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, gzip_level);
}

void File::write_doubles(const std::string& dataset, const double* data,
                         const std::vector<int64_t>& dims, int gzip_level) {
  write_numeric(dataset, data, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, dims, gzip_level);
}

void File::write_numeric(const std::string& dataset, const void* data, hid_t file_type,
                         hid_t native_type, const std::vector<int64_t>& dims, int gzip_level) {
  ensure_parents(dataset);
  std::vector<hsize_t> hdims(dims.begin(), dims.end());
  Handle space = must(H5Screate_simple(static_cast<int>(hdims.size()), hdims.data(), nullptr),
                      H5Sclose, fmt::format("{}: bad shape for '{}'", path_, dataset));
  Handle plist = chunked_plist(hdims, gzip_level);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle d = must(H5Dcreate2(file_.get(), dataset.c_str(), file_type, space.get(), lcpl.get(),
                             plist.get(), H5P_DEFAULT),
                  H5Dclose, fmt::format("{}: cannot create '{}'", path_, dataset));
  int64_t n = 1;
  for (int64_t x : dims) n *= x;
  if (n > 0 && H5Dwrite(d.get(), native_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    fail("{}: cannot write '{}'", path_, dataset);
  }
}

void File::write_bools(const std::string& dataset, const uint8_t* data, int64_t n, int gzip_level) {
  ensure_parents(dataset);
  Handle type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  const int8_t no = 0, yes = 1;
  H5Tenum_insert(type.get(), "FALSE", &no);
  H5Tenum_insert(type.get(), "TRUE", &yes);
  const hsize_t dims[1] = {static_cast<hsize_t>(n)};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle plist = chunked_plist({dims[0]}, gzip_level);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle d = must(H5Dcreate2(file_.get(), dataset.c_str(), type.get(), space.get(), lcpl.get(),
                             plist.get(), H5P_DEFAULT),
                  H5Dclose, fmt::format("{}: cannot create '{}'", path_, dataset));
  if (n > 0 && H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    fail("{}: cannot write '{}'", path_, dataset);
  }
}

void File::write_string(const std::string& dataset, const std::string& value) {
  ensure_parents(dataset);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Handle d = must(H5Dcreate2(file_.get(), dataset.c_str(), type.get(), space.get(), lcpl.get(),
                             dcpl.get(), H5P_DEFAULT),
                  H5Dclose, fmt::format("{}: cannot create '{}'", path_, dataset));
  const char* p = value.c_str();
  if (H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p) < 0) {
    fail("{}: cannot write '{}'", path_, dataset);
  }
}

namespace {
void write_attr(const File& f, const std::string& object, const std::string& name, hid_t file_type,
                hid_t mem_type, const void* value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    H5Adelete_by_name(f.id(), object.c_str(), name.c_str(), H5P_DEFAULT);
  }
  Handle a = must(H5Acreate_by_name(f.id(), object.c_str(), name.c_str(), file_type, space.get(),
                                    H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                  H5Aclose,
                  fmt::format("{}: cannot create attribute '{}' on '{}'", f.path(), name, object));
  if (H5Awrite(a.get(), mem_type, value) < 0) {
    fail("{}: cannot write attribute '{}' on '{}'", f.path(), name, object);
  }
}
}  // namespace

void File::write_attribute(const std::string& object, const std::string& name, int64_t value) {
  write_attr(*this, object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void File::write_attribute(const std::string& object, const std::string& name, double value) {
  write_attr(*this, object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void File::write_attribute(const std::string& object, const std::string& name,
                           const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const char* p = value.c_str();
  write_attr(*this, object, name, type.get(), type.get(), &p);
}

void File::flush() {
  if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) fail("{}: cannot flush", path_);
}

}  // namespace stitch::h5
