#!/usr/bin/env bash
# make-test-certs.sh DIR: a throw-away certificate authority and server
# certificates for the TLS tests, made with openssl at test time (never
# committed, never trusted outside the test that made them).
#
#   DIR/ca.pem, ca.key           the test CA (ECDSA P-256, 60 days: no "expires soon" warning)
#   DIR/server.pem, server.key   a server certificate for 127.0.0.1, ::1 and
#                                localhost, signed by the CA (ECDSA P-256)
#   DIR/second.pem, second.key   another one, serial and subject different
#                                (CN imgate-test-2): the reload tests swap to it
#   DIR/expired.pem, expired.key one that expired yesterday
#   DIR/chain.pem                server.pem followed by ca.pem
# Files are mode 0600 in a 0700 folder, as the server wants its key.
set -euo pipefail
dir=$1
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
san="subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 60 -subj "/CN=imgate test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.pem 2>/dev/null

sign() { # sign NAME CN DAYS-OPTION...
	local name=$1 cn=$2
	shift 2
	key "$name.key"
	openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
	printf '%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" > "$name.ext"
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
		-extfile "$name.ext" "$@" -out "$name.pem" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
}
sign server imgate-test -days 60
sign second imgate-test-2 -days 60
# Expired: 'openssl x509' of OpenSSL 3.0 cannot backdate, 'openssl ca' can.
mkdir -p cadb
: > cadb/index.txt
echo 1000 > cadb/serial
cat > ca.cnf <<CONF
[ca]
default_ca = test
[test]
database = cadb/index.txt
new_certs_dir = cadb
serial = cadb/serial
default_md = sha256
policy = any
[any]
commonName = supplied
CONF
key expired.key
openssl req -new -key expired.key -subj "/CN=imgate-test-expired" -out expired.csr 2>/dev/null
printf '%s\n' "$san" > expired.ext
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -extfile expired.ext \
	-startdate 20200101000000Z -enddate 20200102000000Z -notext -out expired.pem 2>/dev/null
rm -rf cadb ca.cnf expired.csr expired.ext ca.srl
cat server.pem ca.pem > chain.pem
