// The ownership audit itself (common/pool_audit.h): what it must catch, on hand-built claims.
// Pipeline::audit() runs it over real stages in the bounds tests and in every debug build.
#include "common/pool_audit.h"

#include <gtest/gtest.h>

using namespace sluice;

TEST(PoolAudit, HoldsWhenEverySlotInUseHasOneOwner) {
    PoolAudit a;
    a.pool(PoolKind::DecryptSessions, 4, 2);
    a.claim(PoolKind::DecryptSessions, 0, 7);
    a.claim(PoolKind::DecryptSessions, 3, 9);
    a.pool(PoolKind::HeadBuffers, 8, 0);
    EXPECT_TRUE(a.verify());
    EXPECT_EQ(a.report(), "");
}

TEST(PoolAudit, CatchesASlotWithoutAnOwner) {
    PoolAudit a;
    a.pool(PoolKind::HandshakeBuffers, 4, 2);
    a.claim(PoolKind::HandshakeBuffers, 1, 7);
    EXPECT_FALSE(a.verify());
    EXPECT_NE(a.report().find("handshake_buffers: 2 in use, 1 held by live flows"),
              std::string::npos)
        << a.report();
}

TEST(PoolAudit, CatchesSharedAndOutOfRangeSlots) {
    PoolAudit a;
    a.pool(PoolKind::BodyBuffers, 4, 2);
    a.claim(PoolKind::BodyBuffers, 1, 7);
    a.claim(PoolKind::BodyBuffers, 1, 8);
    a.claim(PoolKind::BodyBuffers, 4, 9);
    EXPECT_FALSE(a.verify());
    EXPECT_NE(a.report().find("body_buffers slot 1 (flow 8): also claimed by flow 7"),
              std::string::npos)
        << a.report();
    EXPECT_NE(a.report().find("slot 4 (flow 9): slot out of range"), std::string::npos);
}

TEST(PoolAudit, CatchesAStageViolation) {
    PoolAudit a;
    a.pool(PoolKind::HttpSessions, 2, 1);
    a.claim(PoolKind::HttpSessions, 0, 7);
    a.violation(PoolKind::HttpSessions, 0, 7, "owner names another flow");
    EXPECT_FALSE(a.verify());
    EXPECT_NE(a.report().find("owner names another flow"), std::string::npos);
}
