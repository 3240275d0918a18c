// Thin RAII layer over the HDF5 C API, used by the dataset readers and writers.
// Every failure throws stitch::Error naming the file and the object; HDF5's own error-stack
// printing is switched off (install_hdf5_error_handler()).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stitch::h5 {

// Turns off HDF5's automatic printing of its error stack (stitch reports errors itself).
void install_hdf5_error_handler();

// Owns one hid_t and closes it with the right H5*close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset();
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

struct DatasetShape {
  std::vector<int64_t> dims;  // empty for a scalar
  H5T_class_t type_class = H5T_NO_CLASS;
  size_t type_size = 0;  // bytes per element in the file (8 for float64)
};

// The product of `dims` (1 for none), or -1 when a dimension is negative or the product
// overflows int64 (a corrupt header).
int64_t element_count(const std::vector<int64_t>& dims);

class File {
 public:
  // Opens for reading; throws Error "FILE: not an HDF5 file or truncated" and the like.
  static File open_read(const std::string& path);
  // Creates (truncating) for writing.
  static File create(const std::string& path);
  // Opens an in-memory file image (for the fuzzer).
  static File open_image(const void* data, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  hid_t id() const { return file_.get(); }

  bool exists(const std::string& object) const;  // dataset or group, any depth ("a/b")
  bool is_group(const std::string& object) const;
  // Names of the direct members of a group ("/" for the root), in creation/name order.
  std::vector<std::string> members(const std::string& group) const;
  DatasetShape shape(const std::string& dataset) const;

  // Reads a numeric dataset (float, integer or bool/enum) as float32, row-major.
  std::vector<float> read_floats(const std::string& dataset,
                                 DatasetShape* shape_out = nullptr) const;
  // The same as float64 (exact for float64 and integer data).
  std::vector<double> read_doubles(const std::string& dataset,
                                   DatasetShape* shape_out = nullptr) const;
  // Reads a one-element numeric dataset as float64; nullopt when it is not one.
  std::optional<double> read_number(const std::string& dataset) const;
  // Reads a string dataset or scalar (fixed or variable length); nullopt if not a string.
  std::optional<std::string> read_string(const std::string& dataset) const;

  // Attributes of an object ("/" for the root): names, and values as JSON text.
  std::vector<std::string> attribute_names(const std::string& object) const;
  std::string attribute_json(const std::string& object, const std::string& name) const;

  void create_group(const std::string& group);
  // Writes a float32 dataset of the given dims; gzip level 0 = no compression.
  void write_floats(const std::string& dataset, const float* data, const std::vector<int64_t>& dims,
                    int gzip_level);
  // Writes a float64 dataset of the given dims.
  void write_doubles(const std::string& dataset, const double* data,
                     const std::vector<int64_t>& dims, int gzip_level);
  // Writes bytes 0/1 as h5py-compatible booleans (enum int8 {FALSE=0, TRUE=1}).
  void write_bools(const std::string& dataset, const uint8_t* data, int64_t n, int gzip_level);
  void write_string(const std::string& dataset, const std::string& value);
  void write_attribute(const std::string& object, const std::string& name, int64_t value);
  void write_attribute(const std::string& object, const std::string& name, double value);
  void write_attribute(const std::string& object, const std::string& name,
                       const std::string& value);

  void flush();

  // The most bytes any one value read from this file may take: a header's claim beyond this is
  // corrupt. Deflate expands at most 1032:1, so no dataset of the file can hold more than about
  // 1032 bytes per byte of file (at least 4 KiB of file counted).
  int64_t max_value_bytes() const;

 private:
  template <class T>
  std::vector<T> read_numeric(const std::string& dataset, hid_t native_type,
                              DatasetShape* shape_out) const;
  void write_numeric(const std::string& dataset, const void* data, hid_t file_type,
                     hid_t native_type, const std::vector<int64_t>& dims, int gzip_level);
  // Creates the missing groups on the way to `object` (without modification times).
  void ensure_parents(const std::string& object);

  std::string path_;
  Handle file_;
};

}  // namespace stitch::h5
