#include "daemon/tasks/sha256.h"

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "base/lazy_library.h"

namespace taskpool::daemon {

namespace {

// The two functions a one-shot digest needs, typed by OpenSSL's header.
struct OpenSslSha256 {
  decltype(&EVP_Digest) digest = nullptr;
  decltype(&EVP_sha256) sha256 = nullptr;
};

Result<OpenSslSha256> LoadOpenSsl() {
  // The soname of the libcrypto whose header we compiled against.
  static base::LazyLibrary crypto("libcrypto.so." +
                            std::to_string(OPENSSL_SHLIB_VERSION));
  Result<decltype(&EVP_Digest)> digest =
      crypto.Function<decltype(&EVP_Digest)>("EVP_Digest");
  if (!digest.ok()) return digest.status();
  Result<decltype(&EVP_sha256)> sha256 =
      crypto.Function<decltype(&EVP_sha256)>("EVP_sha256");
  if (!sha256.ok()) return sha256.status();
  return OpenSslSha256{*digest, *sha256};
}

}  // namespace

Result<std::string> Sha256Hex(std::string_view data) {
  static const Result<OpenSslSha256> openssl = LoadOpenSsl();
  if (!openssl.ok()) return openssl.status();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  // One-shot EVP_Digest: no context to leak on an early return.
  if (openssl->digest(data.data(), data.size(), digest, &digest_size,
                      openssl->sha256(), nullptr) != 1) {
    return Status(ErrorCode::kInternal, "OpenSSL's EVP_Digest(SHA-256) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * digest_size);
  for (unsigned int i = 0; i < digest_size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace taskpool::daemon
