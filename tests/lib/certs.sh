# Test certificates for the TLS tests, made with the openssl CLI (EC P-256,
# fast). Source it, then: make_certs DIR. Creates in DIR:
#   ca.pem ca.key              the test CA (relayd's tls_ca_file)
#   valid.pem valid.key        localhost, 127.0.0.1, ::1 signed by the CA
#   wrong.pem wrong.key        other.invalid signed by the CA
#   untrusted.pem untrusted.key  localhost, self-signed (not the CA)
#   expired.pem expired.key    localhost signed by the CA, expired in 2021
#   client.pem client.key      a client certificate (CN nullrelay-client) signed by the CA
#   valid.sha256               "sha256:" + hex fingerprint of valid.pem
#   wrong.sha256               the same for wrong.pem
# Each *.pem server certificate file holds the certificate only; keys are 0600.

_certs_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null && chmod 600 "$1"; }

# _certs_sign DIR NAME CN SAN [EKU]: a leaf signed by the CA, valid from now.
_certs_sign() {
	local d=$1 n=$2 cn=$3 san=$4 eku=${5:-serverAuth}
	_certs_key "$d/$n.key" || return 1
	openssl req -new -key "$d/$n.key" -subj "/CN=$cn" -out "$d/$n.csr" 2>/dev/null || return 1
	printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n%s\n' \
		"$eku" "${san:+subjectAltName=$san}" > "$d/$n.ext"
	openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 30 -sha256 -extfile "$d/$n.ext" -out "$d/$n.pem" 2>/dev/null
}

# An expired leaf: `openssl x509 -req` in OpenSSL 3.0 cannot back-date, so
# use a throwaway `openssl ca` with -startdate/-enddate.
_certs_expired() {
	local d=$1 c=$1/ca-db
	mkdir -p "$c/new" && : > "$c/index.txt" && echo 1000 > "$c/serial"
	cat > "$c/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $c
database = $c/index.txt
new_certs_dir = $c/new
serial = $c/serial
certificate = $d/ca.pem
private_key = $d/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = leaf
[anything]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
CNF
	_certs_key "$d/expired.key" || return 1
	openssl req -new -key "$d/expired.key" -subj "/CN=localhost" -out "$d/expired.csr" 2>/dev/null || return 1
	openssl ca -batch -config "$c/ca.cnf" -in "$d/expired.csr" -out "$d/expired.full" \
		-startdate 20200101000000Z -enddate 20210101000000Z -notext 2>/dev/null || return 1
	openssl x509 -in "$d/expired.full" -out "$d/expired.pem" 2>/dev/null
}

_certs_fpr() {
	printf 'sha256:%s\n' "$(openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')"
}

make_certs() {
	local d=$1
	mkdir -p "$d" || return 1
	[ -s "$d/client.pem" ] && return 0
	_certs_key "$d/ca.key" &&
	openssl req -x509 -new -key "$d/ca.key" -subj "/CN=nullrelay test CA" -days 30 -sha256 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$d/ca.pem" 2>/dev/null &&
	_certs_sign "$d" valid localhost "DNS:localhost,IP:127.0.0.1,IP:::1" &&
	_certs_sign "$d" wrong other.invalid "DNS:other.invalid" &&
	_certs_sign "$d" client nullrelay-client "" clientAuth &&
	_certs_key "$d/untrusted.key" &&
	openssl req -x509 -new -key "$d/untrusted.key" -subj "/CN=localhost" -days 30 -sha256 \
		-addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 \
		-out "$d/untrusted.pem" 2>/dev/null &&
	_certs_expired "$d" &&
	_certs_fpr "$d/valid.pem" > "$d/valid.sha256" &&
	_certs_fpr "$d/wrong.pem" > "$d/wrong.sha256" || { echo "make_certs: openssl failed in $d" >&2; return 1; }
	chmod 644 "$d"/*.pem
}

# make_rsa_cert DIR: rsa.pem rsa.key, an RSA-2048 leaf for localhost signed
# by the CA in DIR (OpenSMTPD 6.8's privilege-separated TLS cannot use EC
# keys with OpenSSL 3: "EVP lib" at the handshake).
make_rsa_cert() {
	local d=$1
	[ -s "$d/rsa.pem" ] && return 0
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/rsa.key" 2>/dev/null &&
	chmod 600 "$d/rsa.key" &&
	openssl req -new -key "$d/rsa.key" -subj "/CN=localhost" -out "$d/rsa.csr" 2>/dev/null &&
	printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' > "$d/rsa.ext" &&
	openssl x509 -req -in "$d/rsa.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 30 -sha256 -extfile "$d/rsa.ext" -out "$d/rsa.pem" 2>/dev/null &&
	chmod 644 "$d/rsa.pem"
}
