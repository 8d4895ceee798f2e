// Key schedule vectors: TLS 1.3 traffic keys from RFC 8448 section 3 (simple 1-RTT
// handshake), and the TLS 1.2 PRF (P_SHA256) vector circulated on the TLS WG list.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tls/record_cipher.h"

using namespace sluice::tls;

namespace {

std::vector<uint8_t> hex(std::string s) {
    std::string clean;
    for (char c : s)
        if (c != ' ' && c != '\n') clean += c;
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < clean.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(clean.substr(i, 2), nullptr, 16)));
    return out;
}

struct Rfc8448Traffic {
    const char* secret;
    const char* key;
    const char* iv;
};

// TLS_AES_128_GCM_SHA256: {client,server} {handshake,application} traffic secrets and the
// write key and IV RFC 8448 derives from each.
const Rfc8448Traffic kRfc8448[] = {
    {"b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
     "dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f"},
    {"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
     "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
    {"a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
     "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
    {"9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
     "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
};

}  // namespace

TEST(KeySchedule, Rfc8448TrafficKeys) {
    const SuiteInfo suite = *suite_info(0x1301);
    for (const auto& v : kRfc8448) {
        TrafficKeys k;
        ASSERT_TRUE(tls13_traffic_keys(suite, hex(v.secret), k));
        EXPECT_EQ(std::vector<uint8_t>(k.key.begin(), k.key.begin() + 16), hex(v.key)) << v.secret;
        EXPECT_EQ(std::vector<uint8_t>(k.iv.begin(), k.iv.end()), hex(v.iv)) << v.secret;
    }
}

TEST(KeySchedule, KeyUpdateChangesSecretDeterministically) {
    auto a = hex(kRfc8448[2].secret), b = a;
    ASSERT_TRUE(tls13_next_secret(Hash::Sha256, a));
    ASSERT_TRUE(tls13_next_secret(Hash::Sha256, b));
    EXPECT_EQ(a, b);
    EXPECT_NE(a, hex(kRfc8448[2].secret));
    std::vector<uint8_t> expect(32);
    ASSERT_TRUE(
        hkdf_expand_label(Hash::Sha256, hex(kRfc8448[2].secret), "traffic upd", {}, expect));
    EXPECT_EQ(a, expect);
}

TEST(KeySchedule, Tls12PrfSha256Vector) {
    const auto secret = hex("9bbe436ba940f017b17652849a71db35");
    const auto seed = hex("a0ba9f936cda311827a6f796ffd5198c");
    std::vector<uint8_t> out(100);
    ASSERT_TRUE(tls12_prf(Hash::Sha256, secret, "test label", seed, out));
    EXPECT_EQ(out, hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90"
                       "d35c9c9a46b4e14baf9af"
                       "0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122e"
                       "e42c5a72e5a5110fff7"
                       "0187347b66"));
}

TEST(KeySchedule, SupportedSuites) {
    EXPECT_TRUE(suite_info(0x1302)->tls13);
    EXPECT_EQ(suite_info(0x1302)->key_len(), 32u);
    EXPECT_FALSE(suite_info(0xc02f)->tls13);
    EXPECT_EQ(suite_info(0xc02f)->fixed_iv_len(), 4u);
    EXPECT_EQ(suite_info(0xcca8)->fixed_iv_len(), 12u);
    EXPECT_FALSE(suite_info(0x002f));  // AES-CBC: not decrypted
}
