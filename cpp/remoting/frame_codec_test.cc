#include "cpp/remoting/frame_codec.h"

#include <random>

#include "gtest/gtest.h"

namespace cometmq::remoting {
namespace {

Command Sample(int i, size_t body_size) {
  Command c = MakeRequest(proto::SEND_MESSAGE);
  c.header.set_opaque(static_cast<uint64_t>(i));
  c.header.mutable_topic_route()->set_topic("TopicTest");
  c.body.assign(body_size, static_cast<char>('a' + i % 26));
  return c;
}

void ExpectSame(const Command& a, const Command& b) {
  EXPECT_EQ(a.header.SerializeAsString(), b.header.SerializeAsString());
  EXPECT_EQ(a.body, b.body);
}

TEST(FrameCodecTest, RoundTripWholeFrame) {
  FrameDecoder decoder;
  Command in = Sample(7, 100);
  decoder.Append(EncodeFrame(in));
  Command out;
  ASSERT_EQ(decoder.Next(&out), FrameDecoder::Result::kFrame);
  ExpectSame(in, out);
  EXPECT_EQ(out.header.topic_route().topic(), "TopicTest");
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kNeedMore);
}

TEST(FrameCodecTest, FrameSplitByteByByte) {
  FrameDecoder decoder;
  Command in = Sample(3, 1000);
  std::string frame = EncodeFrame(in);
  Command out;
  for (size_t i = 0; i + 1 < frame.size(); ++i) {
    decoder.Append(frame.substr(i, 1));
    ASSERT_EQ(decoder.Next(&out), FrameDecoder::Result::kNeedMore) << i;
  }
  decoder.Append(frame.substr(frame.size() - 1));
  ASSERT_EQ(decoder.Next(&out), FrameDecoder::Result::kFrame);
  ExpectSame(in, out);
}

TEST(FrameCodecTest, ManyFramesInOneReadAndRandomSplits) {
  std::string stream;
  std::vector<Command> sent;
  for (int i = 0; i < 200; ++i) {
    sent.push_back(Sample(i, static_cast<size_t>(i * 13 % 500)));
    stream += EncodeFrame(sent.back());
  }
  std::mt19937 rng(42);
  FrameDecoder decoder;
  std::vector<Command> got;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::min<size_t>(stream.size() - pos, rng() % 3000 + 1);
    decoder.Append(absl::string_view(stream).substr(pos, n));
    pos += n;
    Command out;
    while (decoder.Next(&out) == FrameDecoder::Result::kFrame) {
      got.push_back(out);
    }
  }
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) ExpectSame(sent[i], got[i]);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameCodecTest, TruncatedFrameWaitsForMore) {
  FrameDecoder decoder;
  std::string frame = EncodeFrame(Sample(1, 50));
  decoder.Append(frame.substr(0, frame.size() - 10));
  Command out;
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kNeedMore);
  EXPECT_EQ(decoder.buffered(), frame.size() - 10);
}

TEST(FrameCodecTest, OversizedLengthFailsWithoutAllocating) {
  FrameDecoder decoder(1024);
  // Claims a 4 GiB frame; only its 4 length bytes ever arrive.
  decoder.Append(std::string("\xff\xff\xff\xff", 4));
  Command out;
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kError);
  EXPECT_EQ(decoder.error().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(decoder.buffered(), 0u);
  // Stays failed.
  decoder.Append(EncodeFrame(Sample(1, 1)));
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kError);
}

// A connection that once carried a 4 MiB message must not keep a 4 MiB
// buffer for the rest of its life: with a thousand producers that each sent
// one large message, that was gigabytes of resident memory doing nothing.
TEST(FrameCodecTest, LargeFrameBufferIsReleasedOnceDecoded) {
  FrameDecoder decoder;
  const std::string frame = EncodeFrame(Sample(1, 4 * 1024 * 1024));
  Command out;
  for (size_t i = 0; i < frame.size(); i += 64 * 1024) {
    decoder.Append(absl::string_view(frame).substr(i, 64 * 1024));
  }
  ASSERT_EQ(decoder.Next(&out), FrameDecoder::Result::kFrame);
  EXPECT_EQ(out.body.size(), 4u * 1024 * 1024);
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kNeedMore);
  EXPECT_LE(decoder.memory_held(), 256u * 1024);
  // Small frames after it still decode, and keep their small buffer.
  decoder.Append(EncodeFrame(Sample(2, 100)));
  ASSERT_EQ(decoder.Next(&out), FrameDecoder::Result::kFrame);
  ExpectSame(out, Sample(2, 100));
}

TEST(FrameCodecTest, FrameJustOverLimitFails) {
  Command big = Sample(1, 2000);
  FrameDecoder decoder(1000);
  decoder.Append(EncodeFrame(big).substr(0, 8));
  Command out;
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kError);
}

TEST(FrameCodecTest, HeaderLongerThanFrameFails) {
  // frame_length 10, header_length 100.
  std::string bad("\x00\x00\x00\x0a\x00\x00\x00\x64", 8);
  FrameDecoder decoder;
  decoder.Append(bad);
  Command out;
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kError);
  EXPECT_EQ(decoder.error().code(), absl::StatusCode::kDataLoss);
}

TEST(FrameCodecTest, FrameLengthBelowMinimumFails) {
  FrameDecoder decoder;
  decoder.Append(std::string("\x00\x00\x00\x02", 4));
  Command out;
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kError);
}

TEST(FrameCodecTest, GarbageHeaderFails) {
  // Valid lengths around bytes that are not a protobuf Header.
  std::string frame("\x00\x00\x00\x08\x00\x00\x00\x04\xff\xff\xff\xff", 12);
  FrameDecoder decoder;
  decoder.Append(frame);
  Command out;
  EXPECT_EQ(decoder.Next(&out), FrameDecoder::Result::kError);
}

TEST(FrameCodecTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    FrameDecoder decoder(64 * 1024);
    std::string junk(rng() % 64, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    decoder.Append(junk);
    Command out;
    for (int i = 0; i < 10; ++i) {
      if (decoder.Next(&out) != FrameDecoder::Result::kFrame) break;
    }
  }
}

}  // namespace
}  // namespace cometmq::remoting
