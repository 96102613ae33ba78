#!/bin/bash
# Test certificates for the TLS integration tests, made with the openssl command line:
#
#   ca.pem ca.key                 the CA the agent is told to trust
#   server.pem server.key         "localhost" and IP ADDR, issued by ca.pem
#   other-ca.pem other-ca.key     an unrelated CA (verification must fail against it)
#   wrongname.pem wrongname.key   "wrong.example" only, issued by ca.pem
#   expired.pem expired.key       "localhost" and IP ADDR, issued by ca.pem, valid only in
#                                 January 2020 (openssl ca -startdate/-enddate backdates it)
#
# Usage: mkcerts.sh DIR ADDR.  Prints the server certificate's fingerprint as rtun's
# `fingerprint` key takes it: sha256:HEX (SHA-256 of the DER certificate).
set -eu

[ $# -eq 2 ] || {
	echo "usage: $0 DIR ADDR" >&2
	exit 2
}
dir=$1
addr=$2
mkdir -p "$dir/newcerts"
: >"$dir/index.txt"
echo 1000 >"$dir/serial"

# A minimal config of our own, so the system openssl.cnf cannot change the result.
cnf=$dir/openssl.cnf
cat >"$cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ca]
default_ca = testca
[testca]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
EOF

# ca NAME CN: a self-signed CA certificate and its key.
ca() {
	openssl req -config "$cnf" -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/$1.key" -out "$dir/$1.pem" -days 3650 -subj "/CN=$2" \
		-extensions v3_ca 2>/dev/null
}

# leaf NAME CN SAN [openssl ca date options...]: a server certificate issued by ca.pem.
leaf() {
	local name=$1 cn=$2 san=$3
	shift 3
	printf '[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = %s\n' \
		"$san" >"$dir/$name.ext"
	openssl req -config "$cnf" -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$cn" 2>/dev/null
	openssl ca -config "$cnf" -batch -notext -cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
		-in "$dir/$name.csr" -out "$dir/$name.pem" -extfile "$dir/$name.ext" \
		-extensions leaf "$@" 2>/dev/null
	rm -f "$dir/$name.csr" "$dir/$name.ext"
}

ca ca "rtun test CA"
ca other-ca "unrelated test CA"
leaf server localhost "DNS:localhost,IP:$addr" -days 825
leaf wrongname wrong.example "DNS:wrong.example" -days 825
leaf expired localhost "DNS:localhost,IP:$addr" -startdate 20200101000000Z -enddate 20200201000000Z

fp=$(openssl x509 -in "$dir/server.pem" -outform DER | openssl dgst -sha256 -r)
echo "sha256:${fp%% *}"
