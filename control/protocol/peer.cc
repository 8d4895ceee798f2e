#include "control/protocol/peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>

namespace sluice::control {

std::string Peer::principal() const {
    if (kind == Kind::Tls) return "cert:" + (subject.empty() ? std::string("?") : subject);
    return "uid:" + std::to_string(uid);
}

std::string Peer::limit_key() const {
    return kind == Kind::Tls ? "ip:" + address : "uid:" + std::to_string(uid);
}

Peer unix_peer(int fd) {
    Peer p;
    p.kind = Peer::Kind::Unix;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        p.uid = cred.uid;
        p.gid = cred.gid;
        p.pid = static_cast<uint32_t>(cred.pid);
        p.groups.push_back(cred.gid);
    }
    gid_t groups[256];
    socklen_t glen = sizeof groups;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
        for (socklen_t i = 0; i < glen / sizeof(gid_t); ++i)
            if (std::find(p.groups.begin(), p.groups.end(), groups[i]) == p.groups.end())
                p.groups.push_back(groups[i]);
    return p;
}

Peer tcp_peer(int fd) {
    Peer p;
    p.kind = Peer::Kind::Tls;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    char buf[INET6_ADDRSTRLEN] = "?";
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
        if (ss.ss_family == AF_INET)
            ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
        else if (ss.ss_family == AF_INET6)
            ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf,
                        sizeof buf);
    }
    p.address = buf;
    return p;
}

namespace {
std::string rfc2253(const X509_NAME* name) {
    BIO* b = BIO_new(BIO_s_mem());
    if (!b) return {};
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(std::max(0L, n)));
    BIO_free(b);
    return out;
}
}  // namespace

void add_certificate(Peer& peer, SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return;
    peer.subject = rfc2253(X509_get_subject_name(cert));
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
        auto ia5 = [](const ASN1_IA5STRING* s) {
            return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<size_t>(ASN1_STRING_length(s)));
        };
        if (g->type == GEN_DNS) {
            peer.sans.push_back("DNS:" + ia5(g->d.dNSName));
        } else if (g->type == GEN_URI) {
            peer.sans.push_back("URI:" + ia5(g->d.uniformResourceIdentifier));
        } else if (g->type == GEN_EMAIL) {
            peer.sans.push_back("email:" + ia5(g->d.rfc822Name));
        } else if (g->type == GEN_IPADD) {
            const int n = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char* d = ASN1_STRING_get0_data(g->d.iPAddress);
            char buf[INET6_ADDRSTRLEN];
            if ((n == 4 && ::inet_ntop(AF_INET, d, buf, sizeof buf)) ||
                (n == 16 && ::inet_ntop(AF_INET6, d, buf, sizeof buf)))
                peer.sans.push_back(std::string("IP:") + buf);
        }
    }
    GENERAL_NAMES_free(names);
}

}  // namespace sluice::control
