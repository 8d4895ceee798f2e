// Record decryption against real OpenSSL sessions: a client and a server talk TLS through
// memory BIOs, the client exports its key log, and sluice must recover every byte of
// application data in both directions from the raw records, for every supported suite.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/digest.h"
#include "tls/direction_decryptor.h"
#include "tls/keylog.h"
#include "tls/record_sealer.h"

using namespace sluice::tls;

namespace {

std::string* g_keylog = nullptr;
void keylog_cb(const SSL*, const char* line) {
    if (g_keylog) *g_keylog += std::string(line) + "\n";
}

struct Certificate {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    Certificate() {
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("sluice.test"), -1, -1,
                                   0);
        X509_set_issuer_name(cert, name);
        X509_sign(cert, key, EVP_sha256());
    }
    ~Certificate() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
};

struct Session {
    std::vector<uint8_t> c2s, s2c;  // raw TLS bytes on the wire
    std::string keylog, client_plain, server_plain;
    uint16_t suite = 0;
    std::vector<uint8_t> client_random = std::vector<uint8_t>(32),
                         server_random = std::vector<uint8_t>(32);
};

void pump(BIO* from, std::vector<uint8_t>& wire, BIO* to) {
    char buf[65536];
    int n;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0) {
        wire.insert(wire.end(), buf, buf + n);
        BIO_write(to, buf, n);
    }
}

// Runs a handshake and an exchange; returns false if OpenSSL refused the configuration.
// `after` (if set) runs with the live client and its incoming BIO once the exchange is done.
bool run_session(int version, const std::string& suite, bool key_update, Session& s,
                 const std::function<void(SSL*, BIO*)>& after = {}) {
    static Certificate cert;
    SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    for (SSL_CTX* c : {sctx, cctx}) {
        SSL_CTX_set_min_proto_version(c, version);
        SSL_CTX_set_max_proto_version(c, version);
        if (version == TLS1_3_VERSION)
            SSL_CTX_set_ciphersuites(c, suite.c_str());
        else
            SSL_CTX_set_cipher_list(c, suite.c_str());
    }
    SSL_CTX_use_certificate(sctx, cert.cert);
    SSL_CTX_use_PrivateKey(sctx, cert.key);
    SSL_CTX_set_keylog_callback(cctx, keylog_cb);
    SSL* srv = SSL_new(sctx);
    SSL* cli = SSL_new(cctx);
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    SSL_set_bio(cli, c_in, c_out);
    SSL_set_bio(srv, s_in, s_out);
    SSL_set_connect_state(cli);
    SSL_set_accept_state(srv);
    g_keylog = &s.keylog;
    auto exchange = [&] {
        pump(c_out, s.c2s, s_in);
        pump(s_out, s.s2c, c_in);
    };
    for (int i = 0; i < 20 && !(SSL_is_init_finished(cli) && SSL_is_init_finished(srv)); ++i) {
        SSL_do_handshake(cli);
        exchange();
        SSL_do_handshake(srv);
        exchange();
    }
    bool ok = SSL_is_init_finished(cli) && SSL_is_init_finished(srv);
    auto send = [&](SSL* from, const std::string& data) {
        for (size_t off = 0; off < data.size();) {
            const int n = SSL_write(from, data.data() + off, static_cast<int>(data.size() - off));
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
            exchange();
        }
        return true;
    };
    auto drain = [&](SSL* to) {
        char buf[16384];
        int n;
        while ((n = SSL_read(to, buf, sizeof buf)) > 0) {
        }
        exchange();
    };
    if (ok) {
        s.client_plain =
            "POST /v1/messages HTTP/1.1\r\nHost: api.example\r\nContent-Length: 2\r\n\r\n{}";
        std::string body;
        for (int i = 0; body.size() < 70000; ++i)
            body += "data: {\"delta\":\"token " + std::to_string(i) + "\"}\n\n";
        s.server_plain = "HTTP/1.1 200 OK\r\n\r\n" + body;
        ok = send(cli, s.client_plain);
        drain(srv);
        ok = ok && send(srv, s.server_plain);
        drain(cli);
        if (ok && key_update) {
            ok = SSL_key_update(cli, SSL_KEY_UPDATE_REQUESTED) == 1;
            const std::string more = "after key update: second request";
            ok = ok && send(cli, more);
            drain(srv);
            const std::string reply = "after key update: second response";
            ok = ok && send(srv, reply);
            drain(cli);
            s.client_plain += more;
            s.server_plain += reply;
        }
        s.suite = static_cast<uint16_t>(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(cli)));
        SSL_get_client_random(cli, s.client_random.data(), 32);
        SSL_get_server_random(cli, s.server_random.data(), 32);
        if (after) after(cli, c_in);
    }
    g_keylog = nullptr;
    SSL_free(cli);
    SSL_free(srv);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return ok;
}

// Splits a direction into records and decrypts them; returns the application data.
std::string decrypt_direction(const std::vector<uint8_t>& wire, DirectionDecryptor& d,
                              int& failures) {
    std::string out;
    std::vector<uint8_t> scratch(20000);
    for (size_t off = 0; off + 5 <= wire.size();) {
        const size_t len = size_t{wire[off + 3]} << 8 | wire[off + 4];
        if (off + 5 + len > wire.size()) break;
        std::span<const uint8_t> plain;
        const auto r = d.record(std::span<const uint8_t, 5>(wire.data() + off, 5),
                                {wire.data() + off + 5, len}, scratch, plain);
        if (r == DirectionDecryptor::Result::AppData) out.append(plain.begin(), plain.end());
        if (r == DirectionDecryptor::Result::Failed) ++failures;
        off += 5 + len;
    }
    return out;
}

struct Case {
    int version;
    const char* suite;
    bool key_update;
};

// Starts sluice's decryptors of both directions from the session's key log.
void start_decryptors(const Session& s, DirectionDecryptor& cd, DirectionDecryptor& sd) {
    SecretStore store;
    std::string lines = s.keylog;
    for (size_t p; (p = lines.find('\n')) != std::string::npos; lines.erase(0, p + 1))
        store.add_line(lines.substr(0, p));
    const SessionSecrets* sec = store.find(s.client_random);
    ASSERT_NE(sec, nullptr);
    const auto info = suite_info(s.suite);
    ASSERT_TRUE(info) << std::hex << s.suite;
    if (info->tls13) {
        cd.start_tls13(*info, sec->client_handshake.span(), sec->client_traffic.span());
        sd.start_tls13(*info, sec->server_handshake.span(), sec->server_traffic.span());
    } else {
        TrafficKeys ck, sk;
        ASSERT_TRUE(
            tls12_keys(*info, sec->master.span(), s.client_random, s.server_random, ck, sk));
        cd.start_tls12(*info, ck);
        sd.start_tls12(*info, sk);
    }
}

void check_case(const Case& c, bool corrupt) {
    Session s;
    ASSERT_TRUE(run_session(c.version, c.suite, c.key_update, s)) << c.suite;
    SecretStore store;
    size_t added = 0;
    std::string lines = s.keylog;
    for (size_t p; (p = lines.find('\n')) != std::string::npos; lines.erase(0, p + 1))
        if (store.add_line(lines.substr(0, p)) == SecretStore::LineResult::Added) ++added;
    const SessionSecrets* sec = store.find(s.client_random);
    ASSERT_NE(sec, nullptr);
    const auto info = suite_info(s.suite);
    ASSERT_TRUE(info) << std::hex << s.suite;
    DirectionDecryptor cd, sd;
    if (info->tls13) {
        ASSERT_TRUE(sec->client_handshake.present() && sec->server_traffic.present());
        cd.start_tls13(*info, sec->client_handshake.span(), sec->client_traffic.span());
        sd.start_tls13(*info, sec->server_handshake.span(), sec->server_traffic.span());
    } else {
        ASSERT_TRUE(sec->master.present());
        TrafficKeys ck, sk;
        ASSERT_TRUE(
            tls12_keys(*info, sec->master.span(), s.client_random, s.server_random, ck, sk));
        cd.start_tls12(*info, ck);
        sd.start_tls12(*info, sk);
    }
    if (corrupt) s.s2c[s.s2c.size() - 100] ^= 0x01;  // inside the last server records
    int failures = 0;
    const std::string client = decrypt_direction(s.c2s, cd, failures);
    const std::string server = decrypt_direction(s.s2c, sd, failures);
    EXPECT_EQ(client, s.client_plain) << c.suite;
    if (corrupt) {
        EXPECT_EQ(failures, 1);
        EXPECT_TRUE(sd.failed());
        EXPECT_LT(server.size(), s.server_plain.size());
        EXPECT_EQ(server, s.server_plain.substr(0, server.size()));  // nothing unverified delivered
    } else {
        EXPECT_EQ(failures, 0);
        EXPECT_EQ(server, s.server_plain) << c.suite;
        if (c.key_update) {
            EXPECT_GE(cd.key_updates() + sd.key_updates(), 2u);
        }
    }
}

const Case kCases[] = {
    {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", false},
    {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", false},
    {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", false},
    {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", true},
    {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", true},
    {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", true},
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", false},
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", false},
    {TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", false},
};

}  // namespace

TEST(TlsDecrypt, RecoversEverySuiteFromRealOpenSslSessions) {
    for (const Case& c : kCases) check_case(c, false);
}

TEST(TlsDecrypt, TamperedRecordFailsAndStopsTheDirection) {
    check_case(kCases[0], true);
    check_case(kCases[6], true);
}

TEST(TlsKeylog, ParsesAndRejects) {
    SecretStore store(2);
    const std::string r1(64, 'a'), r2(64, 'b'), r3(64, 'c'), secret(96, '1');
    EXPECT_EQ(store.add_line("# comment"), SecretStore::LineResult::Ignored);
    EXPECT_EQ(store.add_line("EXPORTER_SECRET " + r1 + " " + secret),
              SecretStore::LineResult::Ignored);
    EXPECT_EQ(store.add_line("CLIENT_RANDOM " + r1 + " " + secret), SecretStore::LineResult::Added);
    EXPECT_EQ(store.add_line("CLIENT_RANDOM " + r1.substr(2) + " " + secret),
              SecretStore::LineResult::Malformed);
    EXPECT_EQ(store.add_line("CLIENT_RANDOM " + r1 + " zz"), SecretStore::LineResult::Malformed);
    EXPECT_EQ(store.add_line("CLIENT_TRAFFIC_SECRET_0 " + r2 + " " + std::string(64, 'e')),
              SecretStore::LineResult::Added);
    EXPECT_EQ(store.add_line("CLIENT_TRAFFIC_SECRET_0 " + r3 + " " + std::string(64, 'e')),
              SecretStore::LineResult::Added);
    EXPECT_EQ(store.size(), 2u);  // capacity 2: the oldest went
    std::vector<uint8_t> a(32, 0xaa), c(32, 0xcc);
    EXPECT_EQ(store.find(a), nullptr);
    ASSERT_NE(store.find(c), nullptr);
    EXPECT_EQ(store.find(c)->client_traffic.len, 32);
}

// The answer to a stopped request is sealed as the server would seal it: after sluice has
// followed the server's records (its keys, KeyUpdates and sequence number), a record it seals
// and a close_notify are accepted by the client side of the real OpenSSL session, for every
// suite sluice decrypts.
TEST(TlsSeal, TheClientAcceptsTheSealedAnswerAndCloseNotify) {
    for (const Case& c : kCases) {
        Session s;
        std::string got;
        int after_close = 1, close_error = 0;
        uint64_t sealed_at = 0;
        const std::string answer = "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\n\r\n{}";
        ASSERT_TRUE(run_session(c.version, c.suite, c.key_update, s, [&](SSL* cli, BIO* c_in) {
            DirectionDecryptor cd, sd;
            start_decryptors(s, cd, sd);
            int failures = 0;
            EXPECT_EQ(decrypt_direction(s.s2c, sd, failures), s.server_plain);
            SuiteInfo info;
            TrafficKeys keys;
            ASSERT_TRUE(sd.sealing_state(info, keys, sealed_at)) << c.suite;
            RecordSealer sealer;
            ASSERT_TRUE(sealer.init(info, keys, sealed_at));
            std::vector<uint8_t> wire(answer.size() + 2 * RecordSealer::kOverhead + 2);
            const size_t n = sealer.seal(RecordSealer::kAppData, sluice::as_bytes(answer), wire);
            const uint8_t close_notify[2] = {1, 0};  // warning, close_notify
            const size_t m = sealer.seal(RecordSealer::kAlert, close_notify,
                                         std::span<uint8_t>(wire).subspan(n));
            ASSERT_GT(n, 0u);
            ASSERT_GT(m, 0u);
            BIO_write(c_in, wire.data(), static_cast<int>(n + m));
            char buf[4096];
            const int r = SSL_read(cli, buf, sizeof buf);
            if (r > 0) got.assign(buf, static_cast<size_t>(r));
            after_close = SSL_read(cli, buf, sizeof buf);
            close_error = SSL_get_error(cli, after_close);
        })) << c.suite;
        EXPECT_EQ(got, answer) << c.suite;
        EXPECT_EQ(after_close, 0) << c.suite;
        EXPECT_EQ(close_error, SSL_ERROR_ZERO_RETURN) << c.suite;  // a clean close_notify
        EXPECT_GT(sealed_at, 0u) << c.suite;  // the server had sent records under these keys
    }
}
