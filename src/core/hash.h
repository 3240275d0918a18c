// SHA-256 of files (OpenSSL's libcrypto): provenance of datasets and behaviour-policy
// checkpoints (dataset metadata, suite manifests).
#pragma once

#include <string>

namespace stitch {

// Lower-case hex SHA-256 of the file's bytes; throws Error naming the file if unreadable.
std::string sha256_file(const std::string& path);
// ... of a string's bytes.
std::string sha256_hex(const std::string& bytes);

}  // namespace stitch
