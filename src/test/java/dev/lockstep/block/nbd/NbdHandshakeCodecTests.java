package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.List;

import org.junit.jupiter.api.Test;

import static dev.lockstep.block.nbd.WireBytes.buffer;
import static dev.lockstep.block.nbd.WireBytes.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Every NBD message of the handshake, encoded and decoded, with wire bytes checked
 * against the protocol document where they are fixed.
 */
class NbdHandshakeCodecTests {

	@Test
	void greeting() throws Exception {
		ByteBuffer buffer = buffer();
		NbdHandshakeCodec.encodeGreeting(buffer, Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
		buffer.flip();
		assertThat(hex(buffer)).isEqualTo("4e42444d41474943" + "49484156454f5054" + "0003");
		assertThat(NbdHandshakeCodec.decodeGreeting(buffer)).isEqualTo(3);
	}

	@Test
	void greetingWithBadMagicIsRejected() {
		ByteBuffer buffer = buffer().putLong(0x1234).putLong(Nbd.OPTS_MAGIC).putShort((short) 1).flip();
		assertThatExceptionOfType(NbdProtocolException.class)
			.isThrownBy(() -> NbdHandshakeCodec.decodeGreeting(buffer));
	}

	@Test
	void optionHeader() throws Exception {
		ByteBuffer buffer = buffer();
		NbdHandshakeCodec.encodeOptionHeader(buffer, Nbd.OPT_GO, 0xFFFFFFF0);
		buffer.flip();
		assertThat(buffer.remaining()).isEqualTo(Nbd.OPTION_HEADER_SIZE);
		assertThat(hex(buffer)).isEqualTo("49484156454f5054" + "00000007" + "fffffff0");
		assertThat(NbdHandshakeCodec.decodeOptionHeader(buffer))
			.isEqualTo(new NbdHandshakeCodec.OptionHeader(7, 0xFFFFFFF0L));
	}

	@Test
	void optionReplyHeader() throws Exception {
		ByteBuffer buffer = buffer();
		NbdHandshakeCodec.encodeOptionReplyHeader(buffer, Nbd.OPT_LIST, Nbd.REP_ERR_UNSUP, 5);
		buffer.flip();
		assertThat(hex(buffer)).isEqualTo("0003e889045565a9" + "00000003" + "80000001" + "00000005");
		NbdHandshakeCodec.OptionReply reply = NbdHandshakeCodec.decodeOptionReplyHeader(buffer);
		assertThat(reply).isEqualTo(new NbdHandshakeCodec.OptionReply(3, Nbd.REP_ERR_UNSUP, 5));
		assertThat(reply.isError()).isTrue();
	}

	@Test
	void exportNameReply() {
		ByteBuffer buffer = buffer();
		NbdHandshakeCodec.encodeExportNameReply(buffer, 1L << 30, 0x1ed, true);
		assertThat(buffer.position()).isEqualTo(134);
		buffer.clear();
		NbdHandshakeCodec.encodeExportNameReply(buffer, 1L << 30, 0x1ed, false);
		buffer.flip();
		assertThat(hex(buffer)).isEqualTo("0000000040000000" + "01ed");
	}

	@Test
	void infoRequest() throws Exception {
		ByteBuffer buffer = buffer();
		NbdHandshakeCodec.encodeInfoRequest(buffer, "disk0", List.of(Nbd.INFO_BLOCK_SIZE, Nbd.INFO_NAME));
		buffer.flip();
		assertThat(buffer.remaining()).isEqualTo(NbdHandshakeCodec.infoRequestLength("disk0", 2));
		assertThat(hex(buffer)).isEqualTo("00000005" + "6469736b30" + "0002" + "0003" + "0001");
		assertThat(NbdHandshakeCodec.decodeInfoRequest(buffer))
			.isEqualTo(new NbdHandshakeCodec.InfoRequest("disk0", List.of(Nbd.INFO_BLOCK_SIZE, Nbd.INFO_NAME)));
	}

	@Test
	void infoRequestWithWrongCountIsRejected() {
		ByteBuffer buffer = buffer().putInt(1).put((byte) 'a').putShort((short) 3).putShort((short) 0).flip();
		assertThatExceptionOfType(NbdProtocolException.class)
			.isThrownBy(() -> NbdHandshakeCodec.decodeInfoRequest(buffer));
	}

	@Test
	void infoRequestWithHugeNameIsRejected() {
		ByteBuffer buffer = buffer().putInt(Integer.MAX_VALUE).flip();
		assertThatExceptionOfType(NbdProtocolException.class)
			.isThrownBy(() -> NbdHandshakeCodec.decodeInfoRequest(buffer));
	}

	@Test
	void infoReplies() throws Exception {
		ByteBuffer buffer = buffer();
		NbdHandshakeCodec.encodeInfoExport(buffer, 4096, 0x3);
		assertThat(NbdHandshakeCodec.decodeInfo(buffer.flip())).isEqualTo(new NbdHandshakeCodec.Info.Export(4096, 3));
		buffer.clear();
		NbdHandshakeCodec.encodeInfoBlockSize(buffer, 1, 4096, 32 << 20);
		assertThat(hex(buffer.duplicate().flip())).isEqualTo("0003" + "00000001" + "00001000" + "02000000");
		assertThat(NbdHandshakeCodec.decodeInfo(buffer.flip()))
			.isEqualTo(new NbdHandshakeCodec.Info.BlockSize(1, 4096, 32 << 20));
		buffer.clear();
		NbdHandshakeCodec.encodeInfoString(buffer, Nbd.INFO_DESCRIPTION, "a disk");
		assertThat(NbdHandshakeCodec.decodeInfo(buffer.flip()))
			.isEqualTo(new NbdHandshakeCodec.Info.Text(Nbd.INFO_DESCRIPTION, "a disk"));
		buffer.clear().putShort((short) 99).putInt(7);
		assertThat(NbdHandshakeCodec.decodeInfo(buffer.flip())).isEqualTo(new NbdHandshakeCodec.Info.Unknown(99));
	}

	@Test
	void truncatedInfoIsRejected() {
		ByteBuffer buffer = buffer().putShort((short) Nbd.INFO_EXPORT).putInt(1).flip();
		assertThatExceptionOfType(NbdProtocolException.class).isThrownBy(() -> NbdHandshakeCodec.decodeInfo(buffer));
	}

	@Test
	void serverReply() throws Exception {
		ByteBuffer buffer = buffer();
		NbdHandshakeCodec.encodeServerReply(buffer, "disk1");
		buffer.flip();
		assertThat(hex(buffer)).isEqualTo("00000005" + "6469736b31");
		assertThat(NbdHandshakeCodec.decodeServerReply(buffer)).isEqualTo("disk1");
	}

	@Test
	void metaContextRequestAndReply() throws Exception {
		ByteBuffer buffer = buffer();
		List<String> queries = List.of("base:allocation", "qemu:dirty-bitmap:x");
		NbdHandshakeCodec.encodeMetaContextRequest(buffer, "disk0", queries);
		buffer.flip();
		assertThat(buffer.remaining()).isEqualTo(NbdHandshakeCodec.metaContextRequestLength("disk0", queries));
		assertThat(NbdHandshakeCodec.decodeMetaContextRequest(buffer))
			.isEqualTo(new NbdHandshakeCodec.MetaContextRequest("disk0", queries));
		buffer.clear();
		NbdHandshakeCodec.encodeMetaContextReply(buffer, 1, "base:allocation");
		assertThat(NbdHandshakeCodec.decodeMetaContextReply(buffer.flip()))
			.isEqualTo(new NbdHandshakeCodec.MetaContext(1, "base:allocation"));
	}

	@Test
	void metaContextRequestWithBadCountIsRejected() {
		ByteBuffer buffer = buffer().putInt(0).putInt(1000).putInt(1).flip();
		assertThatExceptionOfType(NbdProtocolException.class)
			.isThrownBy(() -> NbdHandshakeCodec.decodeMetaContextRequest(buffer));
	}

}
