// The control protocol's framing (whole, split, concatenated, bad headers) and the operator's
// lists (validation, replacement, TTL, removal, and allowlist entries overriding every other
// decision in the enforcement snapshot).
#include <gtest/gtest.h>

#include "control/protocol/frame.h"
#include "verdict/operator_lists.h"

using namespace sluice;
using namespace sluice::control;

TEST(ControlFrame, RoundTripSplitAndConcatenated) {
    const std::string a = encode_frame(R"({"id":1,"cmd":"status"})");
    const std::string b = encode_frame(R"({"id":2})", std::string("\0\1blob", 6));
    EXPECT_EQ(a.size(), kHeaderBytes + 23);
    EXPECT_EQ(a.substr(0, 6), std::string("SLC1\0\1", 6));
    FrameReader r;
    const std::string both = a + b;
    for (char c : both) r.feed({&c, 1});  // byte by byte
    auto f1 = r.next();
    ASSERT_TRUE(f1);
    EXPECT_EQ(f1->json, R"({"id":1,"cmd":"status"})");
    EXPECT_TRUE(f1->blob.empty());
    auto f2 = r.next();
    ASSERT_TRUE(f2);
    EXPECT_EQ(f2->blob, std::string("\0\1blob", 6));
    EXPECT_FALSE(r.next());
    EXPECT_TRUE(r.error().empty());
    FrameReader partial;
    partial.feed(a.substr(0, 20));
    EXPECT_FALSE(partial.next());
    EXPECT_TRUE(partial.error().empty());
}

TEST(ControlFrame, BadHeadersAreErrors) {
    FrameReader magic;
    magic.feed("GET / HTTP/1.1\r\n\r\n");
    EXPECT_FALSE(magic.next());
    EXPECT_NE(magic.error().find("bad magic"), std::string::npos);
    std::string v2 = encode_frame("{}");
    v2[5] = 2;
    FrameReader version;
    version.feed(v2);
    EXPECT_FALSE(version.next());
    EXPECT_NE(version.error().find("version 2"), std::string::npos);
    std::string big = encode_frame("{}");
    big[8] = 0x7f;  // a JSON length of ~2 GiB
    FrameReader size;
    size.feed(big);
    EXPECT_FALSE(size.next());
    EXPECT_EQ(size.error_code(), "too_large");
    EXPECT_NE(size.error().find("at most"), std::string::npos);
}

TEST(OperatorLists, ValidateReplaceExpireRemove) {
    OperatorLists l;
    std::string err;
    const uint64_t t0 = 1'000'000'000'000ull;
    EXPECT_FALSE(l.add(false, ListKind::Ip, "10.0.0.0/33", 0, "", t0, err));
    EXPECT_NE(err.find("not an IP address or prefix"), std::string::npos);
    EXPECT_FALSE(l.add(false, ListKind::Account, "sk-ant-api03-RAWKEY", 0, "", t0, err));
    EXPECT_FALSE(l.add(false, ListKind::Ja4, "not-a-ja4", 0, "", t0, err));
    const uint64_t v0 = l.version();
    ASSERT_TRUE(l.add(false, ListKind::Ip, "203.0.113.9/24", 0, "farm", t0, err)) << err;
    ASSERT_TRUE(l.add(false, ListKind::Account, "00112233aabbccdd", 60, "abuse", t0, err));
    ASSERT_TRUE(l.add(false, ListKind::Account, "00112233aabbccdd", 120, "again", t0, err));
    ASSERT_TRUE(l.add(true, ListKind::Ip, "203.0.113.7", 0, "partner host", t0, err));
    EXPECT_GT(l.version(), v0);
    auto e = l.entries(t0);
    ASSERT_EQ(e.size(), 3u);                  // the account entry was replaced, not duplicated
    EXPECT_EQ(e[0].value, "203.0.113.0/24");  // normalised
    EXPECT_EQ(l.next_expiry(), t0 + 120'000'000'000ull);

    EnforcementTable t;
    l.apply(t, t0);
    const IpAddress in = *IpAddress::parse("203.0.113.50"),
                    partner = *IpAddress::parse("203.0.113.7");
    EXPECT_EQ(t.find(0, in, 0, t0)->verdict, Verdict::Block);
    EXPECT_TRUE(t.find(0, partner, 0, t0)->allow);  // the /32 allow beats the /24 block
    // An allowlisted address wins over a blocked account too.
    EXPECT_TRUE(t.find(account_key("00112233aabbccdd"), partner, 0, t0)->allow);
    EXPECT_EQ(
        t.find(account_key("00112233aabbccdd"), *IpAddress::parse("198.51.100.1"), 0, t0)->verdict,
        Verdict::Block);

    EXPECT_EQ(l.entries(t0 + 121'000'000'000ull).size(), 2u);  // the TTL passed
    EXPECT_FALSE(l.remove(false, ListKind::Ip, "198.51.100.0/24"));
    EXPECT_TRUE(l.remove(false, ListKind::Ip, "203.0.113.0/24"));
    EXPECT_TRUE(l.remove(true, ListKind::Ip, "203.0.113.7"));
    EXPECT_TRUE(l.entries(t0 + 121'000'000'000ull).empty());
}
