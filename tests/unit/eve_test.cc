#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "eve/eve_writer.h"
#include "eve/json_builder.h"

using namespace sluice;

TEST(JsonBuilder, NestingAndEscapes) {
    char buf[256];
    JsonBuilder j(buf);
    j.begin_object()
        .field("s", "a\"b\\c\n\x01")
        .field("n", 42)
        .field("neg", -7)
        .field("b", true)
        .object("o")
        .field("x", 1)
        .end_object()
        .array("a")
        .value(1)
        .value("two")
        .end_array()
        .end_object();
    ASSERT_FALSE(j.overflow());
    const auto parsed = nlohmann::json::parse(j.view());
    EXPECT_EQ(parsed["s"], "a\"b\\c\n\x01");
    EXPECT_EQ(parsed["n"], 42);
    EXPECT_EQ(parsed["neg"], -7);
    EXPECT_EQ(parsed["o"]["x"], 1);
    EXPECT_EQ(parsed["a"][1], "two");
}

TEST(JsonBuilder, OverflowIsReportedNotWritten) {
    char buf[16];
    JsonBuilder j(buf);
    j.begin_object().field("long_key_name", "long value that does not fit").end_object();
    EXPECT_TRUE(j.overflow());
    EXPECT_LE(j.size(), sizeof buf);
}

TEST(EveWriter, OrderedModeMergesProducersDeterministically) {
    const std::string path = ::testing::TempDir() + "/eve_ordered.json";
    std::remove(path.c_str());
    EveWriter::Options o;
    o.path = path;
    o.ordered = true;
    o.block_when_full = true;
    o.queue_slots = 8;  // small: producers must wait for the writer
    EveWriter w(o, 3);
    std::string err;
    ASSERT_TRUE(w.start(err)) << err;
    auto producer = [&](uint32_t id) {
        // Producer id handles packets with seq % 3 == id; records carry their seq.
        for (uint64_t seq = id; seq < 600; seq += 3) {
            const std::string rec = "{\"seq\":" + std::to_string(seq) + "}";
            w.sink(id).emit(EveOrder{seq, id, static_cast<uint32_t>(seq)}, rec);
            w.progress(id).done.store(seq, std::memory_order_release);
            if (seq % 7 == 0) std::this_thread::yield();
        }
        w.progress(id).done.store(EveOrder::kFinalSeq, std::memory_order_release);
    };
    std::thread a(producer, 0), b(producer, 1), c(producer, 2);
    a.join();
    b.join();
    c.join();
    w.stop();
    std::ifstream in(path);
    std::string line;
    uint64_t expect = 0;
    while (std::getline(in, line)) {
        ASSERT_EQ(nlohmann::json::parse(line)["seq"], expect) << line;
        ++expect;
    }
    EXPECT_EQ(expect, 600u);
    EXPECT_EQ(w.dropped(), 0u);
}

TEST(EveWriter, LiveModeDropsAndCountsWhenFull) {
    EveWriter::Options o;
    o.path = "";  // discard
    o.queue_slots = 4;
    EveWriter w(o, 1);  // not started: nothing drains the queue
    int accepted = 0;
    for (int i = 0; i < 10; ++i) accepted += w.sink(0).emit(EveOrder{}, "{}") ? 1 : 0;
    EXPECT_LT(accepted, 10);
    EXPECT_EQ(w.dropped(), static_cast<uint64_t>(10 - accepted));
}

TEST(EveWriter, ReopenAfterRotation) {
    const std::string path = ::testing::TempDir() + "/eve_rotate.json";
    const std::string rotated = path + ".1";
    std::remove(path.c_str());
    std::remove(rotated.c_str());
    EveWriter::Options o;
    o.path = path;
    EveWriter w(o, 1);
    std::string err;
    ASSERT_TRUE(w.start(err));
    w.sink(0).emit(EveOrder{}, "{\"n\":1}");
    while (w.written() < 1) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
    w.request_reopen();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    w.sink(0).emit(EveOrder{}, "{\"n\":2}");
    w.stop();
    std::ifstream a(rotated), b(path);
    std::string la, lb;
    std::getline(a, la);
    std::getline(b, lb);
    EXPECT_EQ(la, "{\"n\":1}");
    EXPECT_EQ(lb, "{\"n\":2}");
}

TEST(JsonBuilder, InvalidUtf8IsEscapedValidPassesThrough) {
    char buf[256];
    JsonBuilder j(buf);
    const std::string mixed =
        std::string("caf\xc3\xa9 \xe2\x82\xac ") + "\x99\xff" + "\xe2\x82" + "x";
    j.begin_object().field("s", std::string_view(mixed)).end_object();
    const auto parsed = nlohmann::json::parse(j.view());  // throws on invalid UTF-8
    EXPECT_EQ(parsed["s"], "caf\xc3\xa9 \xe2\x82\xac \xc2\x99\xc3\xbf\xc3\xa2\xc2\x82x");
    EXPECT_NE(j.view().find("\\u0099\\u00ff"), std::string_view::npos);
}
