#!/usr/bin/env bash
# Regenerates the test certificates in test/fixtures (committed; valid for
# 100 years). A private CA signs the server cert; the others are for failure
# tests: a self-signed cert and a cert for the wrong host name.
set -euo pipefail
cd "$(dirname "$0")/../test/fixtures"
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
  -subj "/CN=quic test CA" -keyout ca-key.pem -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
sign() { # name subject san
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days $days \
    -extfile "$1.ext" -out "$1-cert.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
sign server localhost "DNS:localhost,IP:127.0.0.1,IP:::1"
sign wronghost other.example "DNS:other.example"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout selfsigned-key.pem -out selfsigned-cert.pem 2>/dev/null
# Client certificates come from their own CA, so a server trusting only
# client-ca.pem accepts client-cert.pem and nothing the server CA signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
  -subj "/CN=quic test client CA" -keyout client-ca-key.pem -out client-ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
client_sign() { # name subject
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA client-ca.pem -CAkey client-ca-key.pem -CAcreateserial -days $days \
    -extfile "$1.ext" -out "$1-cert.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
client_sign client "quic test client"
client_sign revoked "quic revoked client"
# A CRL of the client CA listing the revoked client certificate.
mkdir -p crl.tmp && touch crl.tmp/index.txt && echo 1000 > crl.tmp/crlnumber
cat > crl.tmp/ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = crl.tmp/index.txt
crlnumber = crl.tmp/crlnumber
default_md = sha256
default_crl_days = $days
CNF
openssl ca -config crl.tmp/ca.cnf -cert client-ca.pem -keyfile client-ca-key.pem -revoke revoked-cert.pem 2>/dev/null
openssl ca -config crl.tmp/ca.cnf -cert client-ca.pem -keyfile client-ca-key.pem -gencrl -out client-ca.crl 2>/dev/null
rm -rf crl.tmp
# The server identity as PKCS#12 (passphrase "pfx-pass") and as an
# encrypted PKCS#8 key (passphrase "key-pass").
openssl pkcs12 -export -in server-cert.pem -inkey server-key.pem -certfile ca.pem \
  -passout pass:pfx-pass -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256 -out server.pfx 2>/dev/null
openssl pkcs8 -topk8 -in server-key.pem -v2 aes-256-cbc -passout pass:key-pass -out server-key-encrypted.pem
rm -f ca.srl client-ca.srl
echo "certificates written to $(pwd)"
