// Account identity: HMAC vectors, hints, credential sources and their order.
#include <gtest/gtest.h>

#include "account/identity.h"
#include "common/digest.h"

using namespace sluice;
using namespace sluice::account;

namespace {
std::string hex(const std::array<uint8_t, 32>& m) {
    char out[64];
    to_hex(m, out);
    return std::string(out, 64);
}
std::string hint(std::string_view c) {
    char buf[64];
    return std::string(buf, make_hint(c, buf));
}
http::MessageHead head(const std::string& text) {
    http::MessageHead h;
    http::HeadError err;
    EXPECT_TRUE(http::parse_request_head(text, h, err)) << text;
    return h;
}
}  // namespace

TEST(Hmac, Rfc4231Vectors) {
    // Test case 2.
    EXPECT_EQ(hex(HmacSha256(as_bytes("Jefe")).mac(as_bytes("what do ya want for nothing?"))),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: a key longer than the block size is hashed first.
    const std::string key(131, '\xaa');
    EXPECT_EQ(hex(HmacSha256(as_bytes(key))
                      .mac(as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Identity, HintsKeepPrefixAndLastFour) {
    EXPECT_EQ(hint("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-wxyzAA"),
              "sk-ant-api03-\xE2\x80\xA6yzAA");
    EXPECT_EQ(hint("sk-proj-abcdefghijklmnopqrstuvwxyz0123"),
              "sk-p\xE2\x80\xA6"
              "0123");
    // A third '-' after the first 16 characters does not count.
    EXPECT_EQ(hint("abcdefghij-klmnop-qrstu-vwxyz01234"),
              "abcd\xE2\x80\xA6"
              "1234");
    // Short secrets show at most a third, prefix and tail together, and no tail below 12.
    EXPECT_EQ(hint("tok-abcdefghijk"), "tok\xE2\x80\xA6jk");
    EXPECT_EQ(hint("abcdefgh"), "ab\xE2\x80\xA6");
}

TEST(Identity, HintNeverShowsMoreThanAThird) {
    for (size_t n = 1; n <= 160; ++n) {
        std::string c;
        for (size_t i = 0; i < n; ++i) c += static_cast<char>(i % 7 == 3 ? '-' : 'a' + i % 26);
        const std::string h = hint(c);
        const size_t shown = h.size() - 3;  // less the ellipsis
        EXPECT_LE(shown * 3, n) << n << " " << h;
    }
}

// Two credentials on one request: the configured precedence (the upstream API's) decides whom
// it is attributed to, whatever order the client put them in, and the request is flagged.
TEST(Identity, SeveralCredentialsFollowThePrecedence) {
    Identifier id(IdentityOptions{});
    const std::string a = "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                      b = "sk-ant-oat01-BBBBBBBBBBBBBBBB";
    for (const std::string& req :
         {"POST / HTTP/1.1\r\nx-api-key: " + a + "\r\nAuthorization: Bearer " + b + "\r\n\r\n",
          "POST / HTTP/1.1\r\nAuthorization: Bearer " + b + "\r\nx-api-key: " + a + "\r\n\r\n"}) {
        const AccountRef r = id.identify(head(req), "");
        EXPECT_EQ(r.source, CredentialSource::ApiKey);
        EXPECT_EQ(r.id_view(), std::string_view(id.id_of(a).data(), 16));
        EXPECT_TRUE(r.ambiguous);
    }
    IdentityOptions openai;
    openai.precedence = {CredentialSource::Bearer, CredentialSource::ApiKey};
    Identifier ib(openai);
    const AccountRef r = ib.identify(
        head("POST / HTTP/1.1\r\nx-api-key: " + a + "\r\nAuthorization: Bearer " + b + "\r\n\r\n"),
        "");
    EXPECT_EQ(r.source, CredentialSource::Bearer);
    EXPECT_EQ(r.id_view(), std::string_view(ib.id_of(b).data(), 16));
    // The same key twice, and one key alone.
    EXPECT_TRUE(
        id.identify(head("POST / HTTP/1.1\r\nx-api-key: " + a + "\r\nx-api-key: " + a + "\r\n\r\n"),
                    "")
            .repeated);
    const AccountRef one = id.identify(head("POST / HTTP/1.1\r\nx-api-key: " + a + "\r\n\r\n"), "");
    EXPECT_FALSE(one.ambiguous || one.repeated);
}

TEST(Identity, SourcesInOrderAndNoRawKey) {
    Identifier id(IdentityOptions{});
    const std::string key = "sk-ant-api03-SECRETSECRETSECRETSECRETSECRET-1234";
    AccountRef r = id.identify(head("POST /v1/messages HTTP/1.1\r\nx-api-key: " + key +
                                    "\r\nAuthorization: Bearer other\r\n\r\n"),
                               "");
    EXPECT_EQ(r.source, CredentialSource::ApiKey);
    EXPECT_EQ(r.id_view(), std::string_view(id.id_of(key).data(), 16));
    EXPECT_EQ(r.hint_view().find("SECRET"), std::string_view::npos);
    r = id.identify(
        head("POST / HTTP/1.1\r\nAuthorization: bearer  sk-ant-oat01-XYZXYZXYZXYZXYZ\r\n\r\n"), "");
    EXPECT_EQ(r.source, CredentialSource::Bearer);
    EXPECT_EQ(r.id_view(), std::string_view(id.id_of("sk-ant-oat01-XYZXYZXYZXYZXYZ").data(), 16));
    r = id.identify(
        head("GET / HTTP/1.1\r\nCookie: theme=dark; sessionKey=sk-ant-sid01-abcdefghijkl\r\n\r\n"),
        "");
    EXPECT_EQ(r.source, CredentialSource::Cookie);
    r = id.identify(head("GET / HTTP/1.1\r\nopenai-organization: org-123\r\n\r\n"), "");
    EXPECT_EQ(r.source, CredentialSource::OrgHeader);
    EXPECT_EQ(r.hint_view(), "@org-123");
    r = id.identify(head("POST /api/signup HTTP/1.1\r\n\r\n"),
                    R"({"name":"a","email" : "x.y@mailinator.com"})");
    EXPECT_EQ(r.source, CredentialSource::EmailDomain);
    EXPECT_EQ(r.hint_view(), "@mailinator.com");
    EXPECT_FALSE(
        id.identify(head("POST /v1/messages HTTP/1.1\r\n\r\n"), R"({"email":"a@b.c"})").present());
}

TEST(Identity, SecretChangesIds) {
    IdentityOptions a, b;
    b.secret = "a-deployment-secret-of-32-bytes!";
    Identifier ia(a), ib(b);
    EXPECT_TRUE(ia.default_secret());
    EXPECT_FALSE(ib.default_secret());
    EXPECT_NE(ia.id_of("sk-x"), ib.id_of("sk-x"));
    EXPECT_EQ(ib.id_of("sk-x"), Identifier(b).id_of("sk-x"));
}
