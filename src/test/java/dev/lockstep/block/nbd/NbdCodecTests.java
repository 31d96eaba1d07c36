package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.List;

import org.junit.jupiter.api.Test;

import static dev.lockstep.block.nbd.WireBytes.buffer;
import static dev.lockstep.block.nbd.WireBytes.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Every NBD message of the transmission phase, encoded and decoded, with wire bytes
 * checked against the protocol document where they are fixed.
 */
class NbdCodecTests {

	@Test
	void request() throws Exception {
		ByteBuffer buffer = buffer();
		NbdCodec.encodeRequest(buffer, Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 0x0102030405060708L, 1L << 40, -1);
		buffer.flip();
		assertThat(buffer.remaining()).isEqualTo(Nbd.REQUEST_HEADER_SIZE);
		assertThat(hex(buffer))
			.isEqualTo("25609513" + "0001" + "0001" + "0102030405060708" + "0000010000000000" + "ffffffff");
		NbdCodec.Request request = NbdCodec.decodeRequest(buffer);
		assertThat(request).isEqualTo(new NbdCodec.Request(1, 1, 0x0102030405060708L, 1L << 40, 0xFFFFFFFFL));
		assertThat(request.hasFlag(Nbd.CMD_FLAG_FUA)).isTrue();
		assertThat(request.hasFlag(Nbd.CMD_FLAG_NO_HOLE)).isFalse();
	}

	@Test
	void requestWithBadMagicIsRejected() {
		ByteBuffer buffer = buffer().putInt(0xdeadbeef).put(new byte[24]).flip();
		assertThatExceptionOfType(NbdProtocolException.class).isThrownBy(() -> NbdCodec.decodeRequest(buffer));
	}

	@Test
	void simpleReply() throws Exception {
		ByteBuffer buffer = buffer();
		NbdCodec.encodeSimpleReply(buffer, Nbd.EINVAL, 42);
		buffer.flip();
		assertThat(hex(buffer)).isEqualTo("67446698" + "00000016" + "000000000000002a");
		assertThat(NbdCodec.decodeReplyMagic(buffer)).isEqualTo(Nbd.SIMPLE_REPLY_MAGIC);
		assertThat(NbdCodec.decodeSimpleReplyRest(buffer)).isEqualTo(new NbdCodec.SimpleReply(22, 42));
	}

	@Test
	void structuredChunkHeader() throws Exception {
		ByteBuffer buffer = buffer();
		NbdCodec.encodeChunkHeader(buffer, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, 7, 4104);
		buffer.flip();
		assertThat(hex(buffer)).isEqualTo("668e33ef" + "0001" + "0001" + "0000000000000007" + "00001008");
		assertThat(NbdCodec.decodeReplyMagic(buffer)).isEqualTo(Nbd.STRUCTURED_REPLY_MAGIC);
		NbdCodec.ChunkHeader header = NbdCodec.decodeChunkHeaderRest(buffer);
		assertThat(header).isEqualTo(new NbdCodec.ChunkHeader(1, 1, 7, 4104));
		assertThat(header.done()).isTrue();
	}

	@Test
	void replyWithBadMagicIsRejected() {
		ByteBuffer buffer = buffer().putInt(0x11111111).flip();
		assertThatExceptionOfType(NbdProtocolException.class).isThrownBy(() -> NbdCodec.decodeReplyMagic(buffer));
	}

	@Test
	void holeChunk() {
		ByteBuffer buffer = buffer();
		NbdCodec.encodeHole(buffer, 65536, 131072);
		buffer.flip();
		assertThat(hex(buffer)).isEqualTo("0000000000010000" + "00020000");
	}

	@Test
	void errorChunks() throws Exception {
		ByteBuffer buffer = buffer();
		NbdCodec.encodeError(buffer, Nbd.ENOSPC, "too far", -1);
		buffer.flip();
		assertThat(buffer.remaining()).isEqualTo(NbdCodec.errorLength("too far", false));
		assertThat(NbdCodec.decodeError(buffer, false)).isEqualTo(new NbdCodec.ErrorPayload(28, "too far", -1));
		buffer = buffer();
		NbdCodec.encodeError(buffer, Nbd.EIO, "bad sector", 512);
		buffer.flip();
		assertThat(buffer.remaining()).isEqualTo(NbdCodec.errorLength("bad sector", true));
		assertThat(NbdCodec.decodeError(buffer, true)).isEqualTo(new NbdCodec.ErrorPayload(5, "bad sector", 512));
	}

	@Test
	void errorChunkWithOverlongMessageIsRejected() {
		ByteBuffer buffer = buffer().putInt(Nbd.EIO).putShort((short) 100).put(new byte[10]).flip();
		assertThatExceptionOfType(NbdProtocolException.class).isThrownBy(() -> NbdCodec.decodeError(buffer, false));
	}

	@Test
	void blockStatus() throws Exception {
		ByteBuffer buffer = buffer();
		NbdCodec.encodeBlockStatusStart(buffer, 1);
		NbdCodec.encodeBlockDescriptor(buffer, 65536, Nbd.STATE_HOLE | Nbd.STATE_ZERO);
		NbdCodec.encodeBlockDescriptor(buffer, 0x80000000, 0);
		buffer.flip();
		assertThat(NbdCodec.decodeBlockStatus(buffer)).isEqualTo(new NbdCodec.BlockStatus(1,
				List.of(new NbdCodec.BlockDescriptor(65536, 3), new NbdCodec.BlockDescriptor(0x80000000L, 0))));
	}

	@Test
	void malformedBlockStatusIsRejected() {
		ByteBuffer buffer = buffer().putInt(1).putInt(5).flip();
		assertThatExceptionOfType(NbdProtocolException.class).isThrownBy(() -> NbdCodec.decodeBlockStatus(buffer));
	}

	@Test
	void names() {
		assertThat(Nbd.commandName(Nbd.CMD_WRITE_ZEROES)).isEqualTo("WRITE_ZEROES");
		assertThat(Nbd.errorName(Nbd.ENOSPC)).isEqualTo("ENOSPC");
	}

}
