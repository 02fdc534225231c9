// A private CA and a localhost server certificate for TLS tests, made with the openssl tool.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <string>

namespace weft::test {

/// A private CA and a server certificate signed by it, made once per test binary.
struct test_pki {
  std::string dir;
  std::string ca, cert, key, other_ca;

  test_pki() {
    char tmpl[] = "/tmp/weft-tls-XXXXXX";
    dir = mkdtemp(tmpl);
    ca = dir + "/ca.pem";
    cert = dir + "/server.pem";
    key = dir + "/server.key";
    other_ca = dir + "/other-ca.pem";
    std::string d = dir;
    std::string script =
        "set -e; cd " + d + ";"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=weft-test-ca 2>/dev/null;"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj /CN=other 2>/dev/null;"
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null;"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext;"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
        "-extfile san.ext 2>/dev/null";
    ok = std::system(script.c_str()) == 0;
  }
  ~test_pki() { std::system(("rm -rf " + dir).c_str()); }
  bool ok = false;
};

inline const test_pki& pki() {
  static test_pki p;
  return p;
}

}  // namespace weft::test
