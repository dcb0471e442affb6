"""Self-signed CA and server certificate for the fake control/DERP listener (python3-cryptography).

The CA (RSA-2048, for Mbed TLS 2.28 builds without ECDSA) is kept in the state directory so a
client's CAFile stays valid across server restarts; the server certificate is re-issued on every
start for the given hostname plus the listen IP (SAN DNS + IP). Used by fake_headscale.py.
"""

import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _load_or_create_ca(state_dir):
    key_path = os.path.join(state_dir, "ca.key")
    cert_path = os.path.join(state_dir, "ca.pem")
    if os.path.exists(key_path) and os.path.exists(cert_path):
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        return key, cert
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tunless fake headscale test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write(key_path, _pem_key(key))
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return key, cert


def make_server_context(state_dir, hostname, ip, ca_out):
    """Returns an ssl.SSLContext for the server; writes the CA certificate to ca_out."""
    ca_key, ca_cert = _load_or_create_ca(state_dir)
    key = _new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = [x509.DNSName(hostname)]
    try:
        sans.append(x509.IPAddress(ipaddress.ip_address(ip)))
    except ValueError:
        pass
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path = os.path.join(state_dir, "server.pem")
    key_path = os.path.join(state_dir, "server.key")
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM) +
           ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(key_path, _pem_key(key))
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    if os.path.abspath(ca_out) != os.path.abspath(os.path.join(state_dir, "ca.pem")):
        _write(ca_out, ca_pem, 0o644)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # Mbed TLS 2.28 speaks TLS 1.2 only
    ctx.load_cert_chain(cert_path, key_path)
    return ctx
