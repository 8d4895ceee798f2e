// Payload keywords beyond content and pcre: base64 (RFC 4648's test vectors and OpenSSL as the
// oracle), the transforms with arguments (xor, pcrexform, from_base64, against Suricata's
// documented examples), byte_extract / byte_math variables, base64_decode / base64_data and
// per-line header buffers, with the matcher compared to the reference evaluator.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>

#include "pipeline_harness.h"
#include "rules/base64.h"
#include "rules/compiled_rules.h"
#include "rules/reference_evaluator.h"
#include "rules/rule_set.h"
#include "rules/transform.h"

using namespace sluice;
using namespace sluice::rules;

namespace {

std::string decode(Base64Mode m, std::string_view in) {
    std::string out(in.size(), '\0');
    out.resize(std::min(decode_base64(m, in, out), out.size()));
    return out;
}

std::string openssl_encode(std::string_view raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(raw.data()),
                                  static_cast<int>(raw.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
}

std::shared_ptr<const CompiledRules> compile(std::string_view text) {
    return sluice::testing::compile_test_rules(std::string(text));
}

ParsedFile parse(std::string_view text) {
    ParseOptions o;
    return parse_rules(text, "t.rules", o);
}

MatchContext ctx() {
    MatchContext m;
    m.src = *IpAddress::parse("192.0.2.1");
    m.dst = *IpAddress::parse("10.1.2.3");
    m.sport = 40000;
    m.dport = 80;
    return m;
}

// The sids of the rules that match, from the matcher; the reference evaluator must agree.
std::vector<uint32_t> sids(const std::shared_ptr<const CompiledRules>& c, InspectPoint p,
                           const BufferSet& b) {
    Matcher m(c);
    ReferenceEvaluator ref(c->set_ptr());
    std::vector<uint32_t> got, want;
    MatchContext x = ctx();
    x.to_server = p != InspectPoint::Response;
    m.match(p, b, x, got);
    ref.match(p, b, x, want);
    EXPECT_EQ(got, want);
    std::vector<uint32_t> out;
    for (uint32_t i : got) out.push_back(c->set().rules[i].sid);
    return out;
}

std::string transformed(std::string_view rule_options, std::string_view in) {
    auto f = parse("alert http any any -> any any (http.uri; " + std::string(rule_options) +
                   " content:\"x\"; sid:1;)");
    EXPECT_TRUE(f.ok()) << (f.errors.empty() ? "" : f.errors[0].format());
    if (!f.ok()) return {};
    std::string out(in.size() * 2 + 8, '\0');
    out.resize(apply_transforms(f.rules[0].conditions[0].transforms, in, out));
    return out;
}

}  // namespace

TEST(Base64, Rfc4648TestVectors) {
    // RFC 4648 section 10.
    const std::pair<const char*, const char*> v[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [raw, enc] : v)
        for (Base64Mode m : {Base64Mode::Rfc4648, Base64Mode::Rfc2045, Base64Mode::Strict})
            EXPECT_EQ(decode(m, enc), raw) << enc << " " << base64_mode_name(m);
    // The modes differ on what is not base64 (Suricata's own examples).
    EXPECT_EQ(decode(Base64Mode::Rfc2045, "Zm 9v Ym Fy"), "foobar");
    EXPECT_EQ(decode(Base64Mode::Rfc4648, "Zm 9v Ym Fy"), "f");  // "Zm" padded, then stops
    EXPECT_EQ(decode(Base64Mode::Strict, "Zm 9v Ym Fy"), "");
    EXPECT_EQ(decode(Base64Mode::Strict, "Zm9vYg"), "");       // unpadded
    EXPECT_EQ(decode(Base64Mode::Rfc4648, "Zm9vYg"), "foob");  // padded as a partial group
    EXPECT_EQ(decode(Base64Mode::Rfc4648, "Zm9v=Zg=="), "");   // '=' opens a group: invalid
    EXPECT_EQ(decode(Base64Mode::Strict, "Zm9v!"), "");
    // Measuring writes nothing.
    EXPECT_EQ(decode_base64(Base64Mode::Rfc4648, "Zm9vYmFy", {}), 6u);
}

TEST(Base64, DecodesWhatOpenSslEncodes) {
    std::mt19937 rng(7);
    for (int i = 0; i < 500; ++i) {
        std::string raw(rng() % 64, '\0');
        for (char& c : raw) c = static_cast<char>(rng());
        const std::string enc = openssl_encode(raw);
        for (Base64Mode m : {Base64Mode::Rfc4648, Base64Mode::Rfc2045, Base64Mode::Strict})
            ASSERT_EQ(decode(m, enc), raw) << enc;
        // Line breaks every 16 characters (MIME style): only RFC 2045 reads past them.
        std::string folded;
        for (size_t k = 0; k < enc.size(); ++k) {
            if (k > 0 && k % 16 == 0) folded += "\r\n";
            folded += enc[k];
        }
        ASSERT_EQ(decode(Base64Mode::Rfc2045, folded), raw);
        if (enc.size() > 16) {
            ASSERT_EQ(decode(Base64Mode::Rfc4648, folded), raw.substr(0, 12));
            ASSERT_EQ(decode(Base64Mode::Strict, folded), "");
        }
    }
}

TEST(Transforms, XorPcrexformAndFromBase64AsSuricataDocumentsThem) {
    // xor:"0d0ac8ff" turns "password=" xored with that key back into "password=".
    const std::string key = "\x0d\x0a\xc8\xff";
    std::string secret = "password=";
    for (size_t i = 0; i < secret.size(); ++i)
        secret[i] = static_cast<char>(secret[i] ^ key[i % 4]);
    EXPECT_EQ(transformed("xor:\"0d0ac8ff\";", secret), "password=");
    EXPECT_EQ(transformed("xor:0d0ac8ff;", secret), "password=");
    // With an offset the bytes before it stay and the key starts there.
    EXPECT_EQ(transformed("xor:offset 2,\"0d0ac8ff\";", "ab" + secret), "abpassword=");
    EXPECT_EQ(transformed("xor:offset 99,\"0d\";", "abc"), "abc");
    // pcrexform: the first capture group; the buffer as it was without a match.
    EXPECT_EQ(transformed("pcrexform:\"[a-zA-Z]+\\s+(.*)\\s+HTTP\";", "GET /dropper.php HTTP/1.1"),
              "/dropper.php");
    EXPECT_EQ(transformed("pcrexform:\"^x(y)\";", "abc"), "abc");
    // from_base64 (Suricata 8): defaults, offset, bytes, modes, and the cases that leave the
    // buffer as it was (offset past the end, bytes not less than what is left, nothing decodes).
    EXPECT_EQ(transformed("from_base64;", "Zm9vYmFy"), "foobar");
    EXPECT_EQ(transformed("from_base64:offset 3;", "xyzZm9vYmFy"), "foobar");
    EXPECT_EQ(transformed("from_base64:bytes 4, offset 3;", "xyzZm9vYmFy"), "foo");
    EXPECT_EQ(transformed("from_base64:mode rfc2045;", "Zm 9v Ym Fy"), "foobar");
    EXPECT_EQ(transformed("from_base64:mode strict;", "Zm 9v Ym Fy"), "Zm 9v Ym Fy");
    EXPECT_EQ(transformed("from_base64:offset 20;", "Zm9vYmFy"), "Zm9vYmFy");
    EXPECT_EQ(transformed("from_base64:bytes 8;", "Zm9vYmFy"), "Zm9vYmFy");
    // A chain: decode, then lower-case.
    EXPECT_EQ(transformed("from_base64; to_lowercase;", "Rk9P"), "foo");
    // Bad arguments are errors at the keyword; a variable key is reported unsupported.
    for (const char* bad :
         {"xor:\"0d0\";", "xor:\"zz\";", "xor:offset x,\"0d\";", "pcrexform:\"abc\";",
          "pcrexform:\"(a)(b)\";", "pcrexform:abc;", "pcrexform:\"(a\";", "from_base64:mode rfc1;",
          "from_base64:bytes 0;", "from_base64:offset 70000;", "from_base64:bytes 4, bytes 5;"}) {
        auto f = parse(std::string("alert http any any -> any any (http.uri; ") + bad +
                       " content:\"x\"; sid:1;)");
        EXPECT_FALSE(f.ok()) << bad;
        if (!f.ok()) {
            EXPECT_TRUE(f.errors[0].unsupported.empty()) << bad;
        }
    }
    auto v =
        parse("alert http any any -> any any (http.uri; xor:extract 1 0; content:\"x\"; sid:1;)");
    ASSERT_FALSE(v.ok());
    EXPECT_FALSE(v.errors[0].unsupported.empty());
}

TEST(Matcher, ByteExtractAndByteMathVariables) {
    auto c = compile(
        // A length byte, then that many bytes, then "END".
        "alert tcp any any -> any any (pkt_data; content:\"L\"; byte_extract:1,0,len,relative; "
        "content:\"END\"; distance:len; within:3; sid:1;)\n"
        // A decimal length read as a string, used as a byte_test value.
        "alert tcp any any -> any any (pkt_data; byte_extract:2,0,n,string,dec; "
        "byte_test:1,=,n,2; sid:2;)\n"
        // byte_math: the byte at 1 plus the byte at 0, compared.
        "alert tcp any any -> any any (pkt_data; byte_extract:1,0,a; "
        "byte_math:bytes 1, offset 1, oper +, rvalue a, result s; byte_test:1,=,s,2; sid:3;)\n"
        // An offset from a variable, and isdataat from one.
        "alert tcp any any -> any any (pkt_data; byte_extract:1,0,o; content:\"Z\"; offset:o; "
        "depth:1; sid:4;)\n"
        "alert tcp any any -> any any (pkt_data; byte_extract:1,0,o; isdataat:!o; sid:5;)\n"
        // Division by zero never matches (Suricata).
        "alert tcp any any -> any any (pkt_data; byte_math:bytes 1, offset 0, oper /, rvalue 0, "
        "result q; sid:6;)\n");
    ASSERT_TRUE(c);
    auto on = [&](std::string data) {
        BufferSet b;
        b.set(Buffer::Stream, data);
        return sids(c, InspectPoint::Stream, b);
    };
    // (sid 5: the first byte read as a position past the end, as 'L' and '1' are.)
    EXPECT_EQ(on(std::string("L\x03") + "abcEND"), (std::vector<uint32_t>{1, 5}));
    EXPECT_EQ(on(std::string("L\x02") + "abcEND"), (std::vector<uint32_t>{5}));
    EXPECT_EQ(on(std::string("12\x0c")), (std::vector<uint32_t>{2, 5}));
    EXPECT_EQ(on(std::string("\x02\x03\x05")), (std::vector<uint32_t>{3}));  // no "Z" at 2
    EXPECT_EQ(on(std::string("\x02xZ")), (std::vector<uint32_t>{4}));
    EXPECT_EQ(on(std::string("\x09xy")), (std::vector<uint32_t>{5}));
    // Variables are per buffer and must be defined first.
    for (const char* bad : {
             "alert tcp any any -> any any (pkt_data; content:\"a\"; offset:v; sid:1;)",
             "alert http any any -> any any (http.uri; byte_extract:1,0,v; http.host; "
             "content:\"a\"; offset:v; sid:1;)",
             "alert tcp any any -> any any (pkt_data; byte_extract:1,0,v,string,big; sid:1;)",
             "alert tcp any any -> any any (pkt_data; byte_extract:1,0; sid:1;)",
             "alert tcp any any -> any any (pkt_data; byte_extract:1,0,v,align 3; sid:1;)",
             "alert tcp any any -> any any (pkt_data; byte_math:bytes 1, offset 0, oper %, "
             "rvalue 1, result r; sid:1;)",
             "alert tcp any any -> any any (pkt_data; byte_math:bytes 5, offset 0, oper <<, "
             "rvalue 1, result r; sid:1;)",
             "alert tcp any any -> any any (pkt_data; byte_math:bytes 1, offset 0, oper +, "
             "result r; sid:1;)",
         })
        EXPECT_FALSE(parse(bad).ok()) << bad;
}

TEST(Matcher, Base64DecodeAndBase64Data) {
    auto c = compile(
        "alert http any any -> any any (http.uri; content:\"q=\"; base64_decode:relative; "
        "base64_data; content:\"secret\"; sid:1;)\n"
        "alert http any any -> any any (http.uri; base64_decode:bytes 8, offset 1; base64_data; "
        "content:\"foo\"; startswith; sid:2;)\n"
        "alert http any any -> any any (http.uri; content:\"q=\"; base64_decode:relative; "
        "base64_data; content:!\"secret\"; sid:3;)\n");
    ASSERT_TRUE(c);
    auto on = [&](std::string uri) {
        BufferSet b;
        b.set(Buffer::HttpUri, uri);
        return sids(c, InspectPoint::Request, b);
    };
    const std::string enc = openssl_encode("the secret word");
    EXPECT_EQ(on("/x?q=" + enc), (std::vector<uint32_t>{1}));
    EXPECT_EQ(on("/x?q=" + openssl_encode("nothing here")), (std::vector<uint32_t>{3}));
    EXPECT_EQ(on("/Zm9vYmFy"), (std::vector<uint32_t>{2}));
    EXPECT_EQ(on("/x?q=!!!"), (std::vector<uint32_t>{}));  // nothing decodes: no match at all
    // The secret in the raw buffer is not the decoded one.
    EXPECT_EQ(on("/x?q=secret"), (std::vector<uint32_t>{3}));
    for (const char* bad : {
             "alert http any any -> any any (http.uri; base64_decode; content:\"x\"; sid:1;)",
             "alert http any any -> any any (http.uri; base64_data; content:\"x\"; sid:1;)",
             "alert http any any -> any any (http.uri; base64_decode:bytes 0; base64_data; "
             "content:\"x\"; sid:1;)",
             "alert http any any -> any any (http.uri; base64_decode:sideways; base64_data; "
             "content:\"x\"; sid:1;)",
             "alert http any any -> any any (http.uri; base64_decode; base64_data; sid:1;)",
         })
        EXPECT_FALSE(parse(bad).ok()) << bad;
}

TEST(Matcher, PerLineHeaderBuffersMatchWithinOneHeader) {
    auto c = compile(
        "alert http any any -> any any (http.request_header; content:\"Host|3a 20|a.example\"; "
        "endswith; sid:1;)\n"
        "alert http any any -> any any (http.request_header; content:\"a.example|0d 0a|User\"; "
        "sid:2;)\n"
        "alert http any any -> any any (http.request_header; content:\"User-Agent|3a 20|\"; "
        "startswith; bsize:15; sid:3;)\n"
        "alert http any any -> any any (http.request_header; content:\"Host\"; "
        "content:\"curl\"; distance:0; sid:4;)\n"
        "alert http any any -> any any (flow:to_client; http.response_header; "
        "content:\"Server|3a 20|nginx\"; startswith; sid:5;)\n");
    ASSERT_TRUE(c);
    BufferSet b;
    b.set(Buffer::HttpRequestHeader, "Host: a.example\r\nUser-Agent: curl/8\r\nAccept: curl");
    EXPECT_EQ(sids(c, InspectPoint::Request, b), (std::vector<uint32_t>{1}));
    b.set(Buffer::HttpRequestHeader, "Accept: x\r\nUser-Agent: \r\nHost: b");
    EXPECT_EQ(sids(c, InspectPoint::Request, b), (std::vector<uint32_t>{}));
    b.set(Buffer::HttpRequestHeader, "Accept: x\r\nUser-Agent: abc");
    EXPECT_EQ(sids(c, InspectPoint::Request, b), (std::vector<uint32_t>{3}));
    BufferSet r;
    r.set(Buffer::HttpResponseHeader, "Date: today\r\nServer: nginx/1.22");
    EXPECT_EQ(sids(c, InspectPoint::Response, r), (std::vector<uint32_t>{5}));
}

TEST(Matcher, DifferentialWithVariablesAndBase64) {
    std::mt19937 rng(4242);
    const char* words[] = {"ab", "abc", "cab", "zz"};
    std::string text;
    for (int sid = 1; sid <= 300; ++sid) {
        text += "alert tcp any any -> any any (pkt_data; ";
        int vars = 0;
        const int n = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < n; ++k) {
            const std::string rel = k > 0 && rng() % 2 ? ",relative" : "";
            std::string var;
            if (vars > 0) {
                var = "v";
                var += std::to_string(rng() % static_cast<unsigned>(vars));
            }
            switch (rng() % 7) {
                case 0:
                    text += "content:\"" + std::string(words[rng() % 4]) + "\"; ";
                    break;
                case 1:
                    text += "byte_extract:1," + std::to_string(rng() % 4) + ",v" +
                            std::to_string(vars++) + rel + (rng() % 3 == 0 ? ",string,dec" : "") +
                            "; ";
                    break;
                case 2: {
                    const char* ops[] = {"+", "-", "*", "/", "<<", ">>"};
                    text += "byte_math:bytes 1, offset ";
                    text += std::to_string(rng() % 3);
                    text += ", oper ";
                    text += ops[rng() % 6];
                    text += ", rvalue ";
                    text += var.empty() || rng() % 2 ? std::to_string(rng() % 5) : var;
                    text += ", result v";
                    text += std::to_string(vars++);
                    text += rel;
                    text += "; ";
                    break;
                }
                case 3:
                    if (!var.empty()) {
                        text += "content:\"" + std::string(words[rng() % 4]) + "\"; " +
                                (rng() % 2 ? std::string("offset:") + var + "; "
                                           : std::string("distance:") + var + "; within:" +
                                                 std::to_string(3 + rng() % 6) + "; ");
                    } else {
                        text += "isdataat:" + std::to_string(rng() % 8) + "; ";
                    }
                    break;
                case 4:
                    text += "byte_test:1,>," + (var.empty() ? std::to_string(rng() % 100) : var) +
                            "," + std::to_string(rng() % 3) + rel + "; ";
                    break;
                case 5:
                    if (!var.empty()) text += std::string("isdataat:") + var + rel + "; ";
                    break;
                default:
                    // base64 ends the buffer's list: the rule's last keywords.
                    text += "base64_decode:bytes " + std::to_string(4 + rng() % 12) + ", offset " +
                            std::to_string(rng() % 3) + rel + "; base64_data; content:\"" +
                            words[rng() % 4] + "\"; ";
                    k = n;
                    break;
            }
            if (vars >= 6) break;
        }
        text += "sid:" + std::to_string(sid) + ";)\n";
    }
    auto c = compile(text);
    ASSERT_TRUE(c);
    Matcher matcher(c);
    ReferenceEvaluator ref(c->set_ptr());
    size_t total = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string data;
        while (data.size() < 24) {
            switch (rng() % 4) {
                case 0:
                    data += openssl_encode(words[rng() % 4]);
                    break;
                case 1:
                    data += words[rng() % 4];
                    break;
                case 2:
                    data.push_back(static_cast<char>(rng() % 8));
                    break;
                default:
                    data.push_back("0123456789"[rng() % 10]);
            }
        }
        BufferSet b;
        b.set(Buffer::Stream, data);
        std::vector<uint32_t> got, want;
        matcher.match(InspectPoint::Stream, b, ctx(), got);
        ref.match(InspectPoint::Stream, b, ctx(), want);
        ASSERT_EQ(got, want) << "buffer: " << data;
        total += got.size();
    }
    EXPECT_GT(total, 500u);
}

// Hostile buffers: the cheapest inputs that would stall these keywords are bounded.
TEST(Matcher, HostileBase64AndPcrexformAreBounded) {
    // A relative base64_decode after a content found at every one of hundreds of places: each
    // decode costs budget in proportion to what it reads, so the chain gives up (counted)
    // instead of decoding the rest of the buffer once per place.
    auto c = compile(
        "alert tcp any any -> any any (pkt_data; content:\"d=\"; base64_decode:relative; "
        "base64_data; content:\"zzz\"; sid:1;)\n");
    ASSERT_TRUE(c);
    std::string data;
    for (int i = 0; i < 300; ++i) {
        data.append("d=");
        data.append(4096, 'Q');
    }
    BufferSet b;
    b.set(Buffer::Stream, data);
    Matcher m(c);
    std::vector<uint32_t> got;
    m.match(InspectPoint::Stream, b, ctx(), got);
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(m.counters().budget_exhausted, 1u);
    // pcrexform with catastrophic backtracking: the match limit stops it and the buffer stays.
    std::string slow(40, 'a');
    slow.push_back('c');
    EXPECT_EQ(transformed("pcrexform:\"^(?:a+)+(b)$\";", slow), slow);
}
