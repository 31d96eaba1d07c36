package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes the messages of the NBD handshake (the greeting, options, option
 * replies and the export information they carry) to and from big-endian
 * {@link ByteBuffer}s, as {@link NbdCodec} does for the transmission phase. Shared by the
 * server and the client. Encoders write at the buffer's position and advance it; decoders
 * read at the position and expect the whole message to be present.
 */
public final class NbdHandshakeCodec {

	private NbdHandshakeCodec() {
	}

	/** Server greeting: NBDMAGIC, IHAVEOPT and the 16-bit handshake flags (18 bytes). */
	public static void encodeGreeting(ByteBuffer buffer, int handshakeFlags) {
		buffer.putLong(Nbd.INIT_MAGIC).putLong(Nbd.OPTS_MAGIC).putShort((short) handshakeFlags);
	}

	/**
	 * Decodes a server greeting and returns its handshake flags.
	 */
	public static int decodeGreeting(ByteBuffer buffer) throws NbdProtocolException {
		long init = buffer.getLong();
		long opts = buffer.getLong();
		if (init != Nbd.INIT_MAGIC) {
			throw new NbdProtocolException("Not an NBD server (bad greeting magic)");
		}
		if (opts != Nbd.OPTS_MAGIC) {
			throw new NbdProtocolException("Server does not speak newstyle NBD (oldstyle is not supported)");
		}
		return Short.toUnsignedInt(buffer.getShort());
	}

	/** Option request header, without its data (16 bytes). */
	public static void encodeOptionHeader(ByteBuffer buffer, int option, int length) {
		buffer.putLong(Nbd.OPTS_MAGIC).putInt(option).putInt(length);
	}

	public static OptionHeader decodeOptionHeader(ByteBuffer buffer) throws NbdProtocolException {
		long magic = buffer.getLong();
		if (magic != Nbd.OPTS_MAGIC) {
			throw new NbdProtocolException("Bad option magic 0x" + Long.toHexString(magic));
		}
		int option = buffer.getInt();
		long length = Integer.toUnsignedLong(buffer.getInt());
		return new OptionHeader(option, length);
	}

	/** Option reply header, without its data (20 bytes). */
	public static void encodeOptionReplyHeader(ByteBuffer buffer, int option, int type, int length) {
		buffer.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(length);
	}

	public static OptionReply decodeOptionReplyHeader(ByteBuffer buffer) throws NbdProtocolException {
		long magic = buffer.getLong();
		if (magic != Nbd.OPTION_REPLY_MAGIC) {
			throw new NbdProtocolException("Bad option reply magic 0x" + Long.toHexString(magic));
		}
		int option = buffer.getInt();
		int type = buffer.getInt();
		long length = Integer.toUnsignedLong(buffer.getInt());
		return new OptionReply(option, type, length);
	}

	/**
	 * Reply to NBD_OPT_EXPORT_NAME: size, transmission flags and optionally 124 zero
	 * bytes.
	 */
	public static void encodeExportNameReply(ByteBuffer buffer, long size, int transmissionFlags, boolean zeroes) {
		buffer.putLong(size).putShort((short) transmissionFlags);
		if (zeroes) {
			buffer.put(new byte[124]);
		}
	}

	/** Data of NBD_OPT_INFO and NBD_OPT_GO. */
	public static void encodeInfoRequest(ByteBuffer buffer, String exportName, List<Integer> infos) {
		putString32(buffer, exportName);
		buffer.putShort((short) infos.size());
		for (int info : infos) {
			buffer.putShort((short) info);
		}
	}

	public static int infoRequestLength(String exportName, int infoCount) {
		return 4 + NbdCodec.utf8(exportName).length + 2 + 2 * infoCount;
	}

	/**
	 * Decodes the data of NBD_OPT_INFO or NBD_OPT_GO, which fills the buffer.
	 */
	public static InfoRequest decodeInfoRequest(ByteBuffer data) throws NbdProtocolException {
		String name = getString32(data);
		if (data.remaining() < 2) {
			throw new NbdProtocolException("Truncated information request list");
		}
		int count = Short.toUnsignedInt(data.getShort());
		if (data.remaining() != 2 * count) {
			throw new NbdProtocolException("Information request count does not match the option length");
		}
		List<Integer> infos = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			infos.add(Short.toUnsignedInt(data.getShort()));
		}
		return new InfoRequest(name, List.copyOf(infos));
	}

	/** NBD_REP_INFO payload for NBD_INFO_EXPORT (12 bytes). */
	public static void encodeInfoExport(ByteBuffer buffer, long size, int transmissionFlags) {
		buffer.putShort((short) Nbd.INFO_EXPORT).putLong(size).putShort((short) transmissionFlags);
	}

	/** NBD_REP_INFO payload for NBD_INFO_BLOCK_SIZE (14 bytes). */
	public static void encodeInfoBlockSize(ByteBuffer buffer, int minimum, int preferred, int maximum) {
		buffer.putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(minimum).putInt(preferred).putInt(maximum);
	}

	/** NBD_REP_INFO payload for NBD_INFO_NAME or NBD_INFO_DESCRIPTION. */
	public static void encodeInfoString(ByteBuffer buffer, int infoType, String value) {
		buffer.putShort((short) infoType).put(NbdCodec.utf8(value));
	}

	/**
	 * Decodes an NBD_REP_INFO payload, which fills the buffer.
	 */
	public static Info decodeInfo(ByteBuffer data) throws NbdProtocolException {
		if (data.remaining() < 2) {
			throw new NbdProtocolException("Truncated NBD_REP_INFO");
		}
		int type = Short.toUnsignedInt(data.getShort());
		switch (type) {
			case Nbd.INFO_EXPORT -> {
				NbdCodec.expect(data, 10, "NBD_INFO_EXPORT");
				return new Info.Export(data.getLong(), Short.toUnsignedInt(data.getShort()));
			}
			case Nbd.INFO_BLOCK_SIZE -> {
				NbdCodec.expect(data, 12, "NBD_INFO_BLOCK_SIZE");
				return new Info.BlockSize(data.getInt(), data.getInt(), data.getInt());
			}
			case Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION -> {
				return new Info.Text(type, NbdCodec.getString(data, data.remaining()));
			}
			default -> {
				data.position(data.limit());
				return new Info.Unknown(type);
			}
		}
	}

	/** NBD_REP_SERVER payload: the export name, length-prefixed. */
	public static void encodeServerReply(ByteBuffer buffer, String exportName) {
		putString32(buffer, exportName);
	}

	/**
	 * Decodes an NBD_REP_SERVER payload, which fills the buffer, and returns the export
	 * name.
	 */
	public static String decodeServerReply(ByteBuffer data) throws NbdProtocolException {
		String name = getString32(data);
		data.position(data.limit());
		return name;
	}

	/** Data of NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT. */
	public static void encodeMetaContextRequest(ByteBuffer buffer, String exportName, List<String> queries) {
		putString32(buffer, exportName);
		buffer.putInt(queries.size());
		for (String query : queries) {
			putString32(buffer, query);
		}
	}

	public static int metaContextRequestLength(String exportName, List<String> queries) {
		int length = 4 + NbdCodec.utf8(exportName).length + 4;
		for (String query : queries) {
			length += 4 + NbdCodec.utf8(query).length;
		}
		return length;
	}

	/**
	 * Decodes the data of a meta context option, which fills the buffer.
	 */
	public static MetaContextRequest decodeMetaContextRequest(ByteBuffer data) throws NbdProtocolException {
		String name = getString32(data);
		NbdCodec.expect(data, 4, "meta context query count");
		long count = Integer.toUnsignedLong(data.getInt());
		if (count > data.remaining() / 4) {
			throw new NbdProtocolException("Meta context query count does not match the option length");
		}
		List<String> queries = new ArrayList<>((int) count);
		for (long i = 0; i < count; i++) {
			queries.add(getString32(data));
		}
		if (data.hasRemaining()) {
			throw new NbdProtocolException("Trailing bytes after meta context queries");
		}
		return new MetaContextRequest(name, List.copyOf(queries));
	}

	/** NBD_REP_META_CONTEXT payload. */
	public static void encodeMetaContextReply(ByteBuffer buffer, int contextId, String name) {
		buffer.putInt(contextId).put(NbdCodec.utf8(name));
	}

	public static MetaContext decodeMetaContextReply(ByteBuffer data) throws NbdProtocolException {
		NbdCodec.expect(data, 4, "NBD_REP_META_CONTEXT");
		int id = data.getInt();
		return new MetaContext(id, NbdCodec.getString(data, data.remaining()));
	}

	// Strings

	private static void putString32(ByteBuffer buffer, String value) {
		byte[] bytes = NbdCodec.utf8(value);
		buffer.putInt(bytes.length).put(bytes);
	}

	private static String getString32(ByteBuffer data) throws NbdProtocolException {
		NbdCodec.expect(data, 4, "string length");
		long length = Integer.toUnsignedLong(data.getInt());
		if (length > Nbd.MAX_STRING_LENGTH) {
			throw new NbdProtocolException("String longer than " + Nbd.MAX_STRING_LENGTH + " bytes");
		}
		NbdCodec.expect(data, (int) length, "string");
		return NbdCodec.getString(data, (int) length);
	}

	// Messages

	/** An option request header; {@code length} bytes of data follow it. */
	public record OptionHeader(int option, long length) {
	}

	/** An option reply header; {@code length} bytes of data follow it. */
	public record OptionReply(int option, int type, long length) {

		public boolean isError() {
			return (this.type & 0x80000000) != 0;
		}

	}

	/** The data of NBD_OPT_INFO or NBD_OPT_GO. */
	public record InfoRequest(String exportName, List<Integer> infos) {
	}

	/** The data of a meta context option. */
	public record MetaContextRequest(String exportName, List<String> queries) {
	}

	/** A metadata context reply. */
	public record MetaContext(int id, String name) {
	}

	/** One piece of export information from an NBD_REP_INFO reply. */
	public sealed interface Info {

		/** NBD_INFO_EXPORT. */
		record Export(long size, int transmissionFlags) implements Info {
		}

		/** NBD_INFO_BLOCK_SIZE. */
		record BlockSize(int minimum, int preferred, int maximum) implements Info {
		}

		/** NBD_INFO_NAME or NBD_INFO_DESCRIPTION. */
		record Text(int type, String value) implements Info {
		}

		/** An information type this codec does not know. */
		record Unknown(int type) implements Info {
		}

	}

}
