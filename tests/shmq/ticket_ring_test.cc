// The ticket ring alone, over plain memory: FIFO order, a full ring, wrap
// around, and consumers racing for tickets.
#include "shmq/ticket_ring.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace taskpool::shmq {
namespace {

struct Ring {
  explicit Ring(uint32_t size) : entries(size, 0), ring(head, tail, entries.data(), size) {}
  uint64_t head = 0;
  uint64_t tail = 0;
  std::vector<uint64_t> entries;
  TicketRing ring;
};

TEST(TicketRingTest, EmptyRingHasNothingToTake) {
  Ring r(4);
  EXPECT_FALSE(r.ring.Take().has_value());
  EXPECT_TRUE(r.ring.HasRoom());
  EXPECT_EQ(r.ring.head(), 0u);
}

TEST(TicketRingTest, TicketsComeOutInOrderAcrossTheWrap) {
  Ring r(4);
  uint32_t next_in = 0, next_out = 0;
  for (int round = 0; round < 5; ++round) {  // 15 tickets through 4 places
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(r.ring.HasRoom());
      EXPECT_EQ(r.ring.Push({next_in, next_in + 100}), next_in);
      ++next_in;
    }
    for (int i = 0; i < 3; ++i) {
      const std::optional<SlotRef> ticket = r.ring.Take();
      ASSERT_TRUE(ticket.has_value());
      EXPECT_EQ(*ticket, (SlotRef{next_out, next_out + 100}));
      ++next_out;
    }
    EXPECT_FALSE(r.ring.Take().has_value());
  }
  EXPECT_EQ(r.ring.head(), 15u);
}

TEST(TicketRingTest, FullRingHasNoRoomUntilATicketIsTaken) {
  Ring r(2);
  r.ring.Push({0, 1});
  r.ring.Push({1, 1});
  EXPECT_FALSE(r.ring.HasRoom());
  ASSERT_TRUE(r.ring.Take().has_value());
  EXPECT_TRUE(r.ring.HasRoom());
  // The place freed is reused without disturbing the ticket still there.
  r.ring.Push({2, 1});
  EXPECT_EQ(r.ring.Take()->index, 1u);
  EXPECT_EQ(r.ring.Take()->index, 2u);
}

// Four consumers and one producer: every ticket is taken exactly once.
TEST(TicketRingTest, RacingConsumersTakeEachTicketOnce) {
  constexpr uint32_t kTickets = 20000;
  Ring r(64);
  std::vector<std::vector<uint32_t>> taken(4);
  std::atomic<bool> produced{false};
  std::vector<std::thread> consumers;
  for (auto& mine : taken) {
    consumers.emplace_back([&r, &mine, &produced] {
      for (;;) {
        const bool done = produced.load();
        if (std::optional<SlotRef> ticket = r.ring.Take()) {
          mine.push_back(ticket->index);
        } else if (done) {
          return;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (uint32_t i = 0; i < kTickets;) {
    if (r.ring.HasRoom()) {
      r.ring.Push({i, 0});
      ++i;
    } else {
      std::this_thread::yield();
    }
  }
  produced.store(true);
  for (std::thread& consumer : consumers) consumer.join();

  std::vector<int> seen(kTickets, 0);
  for (const auto& mine : taken) {
    for (size_t k = 1; k < mine.size(); ++k) {
      EXPECT_LT(mine[k - 1], mine[k]) << "a consumer saw tickets out of order";
    }
    for (uint32_t index : mine) ++seen[index];
  }
  for (uint32_t i = 0; i < kTickets; ++i) ASSERT_EQ(seen[i], 1) << "ticket " << i;
}

}  // namespace
}  // namespace taskpool::shmq
