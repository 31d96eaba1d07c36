package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Encodes and decodes NBD messages to and from big-endian {@link ByteBuffer}s. Shared by
 * the server and the client. Encoders write at the buffer's position and advance it;
 * decoders read at the position and expect the whole message to be present.
 */
public final class NbdCodec {

	private NbdCodec() {
	}

	// Handshake

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
		return 4 + utf8(exportName).length + 2 + 2 * infoCount;
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
		buffer.putShort((short) infoType).put(utf8(value));
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
				expect(data, 10, "NBD_INFO_EXPORT");
				return new Info.Export(data.getLong(), Short.toUnsignedInt(data.getShort()));
			}
			case Nbd.INFO_BLOCK_SIZE -> {
				expect(data, 12, "NBD_INFO_BLOCK_SIZE");
				return new Info.BlockSize(data.getInt(), data.getInt(), data.getInt());
			}
			case Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION -> {
				return new Info.Text(type, getString(data, data.remaining()));
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
		int length = 4 + utf8(exportName).length + 4;
		for (String query : queries) {
			length += 4 + utf8(query).length;
		}
		return length;
	}

	/**
	 * Decodes the data of a meta context option, which fills the buffer.
	 */
	public static MetaContextRequest decodeMetaContextRequest(ByteBuffer data) throws NbdProtocolException {
		String name = getString32(data);
		expect(data, 4, "meta context query count");
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
		buffer.putInt(contextId).put(utf8(name));
	}

	public static MetaContext decodeMetaContextReply(ByteBuffer data) throws NbdProtocolException {
		expect(data, 4, "NBD_REP_META_CONTEXT");
		int id = data.getInt();
		return new MetaContext(id, getString(data, data.remaining()));
	}

	// Transmission

	/** Request header (28 bytes); WRITE data follows it separately. */
	public static void encodeRequest(ByteBuffer buffer, int flags, int type, long handle, long offset, int length) {
		buffer.putInt(Nbd.REQUEST_MAGIC)
			.putShort((short) flags)
			.putShort((short) type)
			.putLong(handle)
			.putLong(offset)
			.putInt(length);
	}

	public static Request decodeRequest(ByteBuffer buffer) throws NbdProtocolException {
		int magic = buffer.getInt();
		if (magic != Nbd.REQUEST_MAGIC) {
			throw new NbdProtocolException("Bad request magic 0x" + Integer.toHexString(magic));
		}
		int flags = Short.toUnsignedInt(buffer.getShort());
		int type = Short.toUnsignedInt(buffer.getShort());
		long handle = buffer.getLong();
		long offset = buffer.getLong();
		long length = Integer.toUnsignedLong(buffer.getInt());
		return new Request(flags, type, handle, offset, length);
	}

	/** Simple reply header (16 bytes); READ data follows it separately. */
	public static void encodeSimpleReply(ByteBuffer buffer, int error, long handle) {
		buffer.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(handle);
	}

	/** Structured reply chunk header (20 bytes); the payload follows it. */
	public static void encodeChunkHeader(ByteBuffer buffer, int flags, int type, long handle, int length) {
		buffer.putInt(Nbd.STRUCTURED_REPLY_MAGIC)
			.putShort((short) flags)
			.putShort((short) type)
			.putLong(handle)
			.putInt(length);
	}

	/**
	 * Decodes the 4-byte magic that starts any reply and returns it; callers then use
	 * {@link #decodeSimpleReplyRest} or {@link #decodeChunkHeaderRest}.
	 */
	public static int decodeReplyMagic(ByteBuffer buffer) throws NbdProtocolException {
		int magic = buffer.getInt();
		if (magic != Nbd.SIMPLE_REPLY_MAGIC && magic != Nbd.STRUCTURED_REPLY_MAGIC) {
			throw new NbdProtocolException("Bad reply magic 0x" + Integer.toHexString(magic));
		}
		return magic;
	}

	/** The 12 bytes of a simple reply after its magic. */
	public static SimpleReply decodeSimpleReplyRest(ByteBuffer buffer) {
		int error = buffer.getInt();
		long handle = buffer.getLong();
		return new SimpleReply(error, handle);
	}

	/** The 16 bytes of a structured reply chunk header after its magic. */
	public static ChunkHeader decodeChunkHeaderRest(ByteBuffer buffer) {
		int flags = Short.toUnsignedInt(buffer.getShort());
		int type = Short.toUnsignedInt(buffer.getShort());
		long handle = buffer.getLong();
		long length = Integer.toUnsignedLong(buffer.getInt());
		return new ChunkHeader(flags, type, handle, length);
	}

	/** Payload of NBD_REPLY_TYPE_OFFSET_HOLE (12 bytes). */
	public static void encodeHole(ByteBuffer buffer, long offset, int length) {
		buffer.putLong(offset).putInt(length);
	}

	/**
	 * Payload of NBD_REPLY_TYPE_ERROR (or of NBD_REPLY_TYPE_ERROR_OFFSET when
	 * {@code offset} is not negative).
	 */
	public static void encodeError(ByteBuffer buffer, int error, @Nullable String message, long offset) {
		byte[] text = truncatedUtf8(message);
		buffer.putInt(error).putShort((short) text.length).put(text);
		if (offset >= 0) {
			buffer.putLong(offset);
		}
	}

	/** Size of an error payload as written by {@link #encodeError}. */
	public static int errorLength(@Nullable String message, boolean withOffset) {
		return 6 + truncatedUtf8(message).length + (withOffset ? 8 : 0);
	}

	/**
	 * Decodes an error chunk payload, which fills the buffer.
	 */
	public static ErrorPayload decodeError(ByteBuffer data, boolean withOffset) throws NbdProtocolException {
		expect(data, 6, "error chunk");
		int error = data.getInt();
		int messageLength = Short.toUnsignedInt(data.getShort());
		expect(data, messageLength + (withOffset ? 8 : 0), "error chunk message");
		String message = getString(data, messageLength);
		long offset = withOffset ? data.getLong() : -1;
		data.position(data.limit());
		return new ErrorPayload(error, message, offset);
	}

	/** Start of an NBD_REPLY_TYPE_BLOCK_STATUS payload; descriptors follow. */
	public static void encodeBlockStatusStart(ByteBuffer buffer, int contextId) {
		buffer.putInt(contextId);
	}

	/** One block status descriptor (8 bytes). */
	public static void encodeBlockDescriptor(ByteBuffer buffer, int length, int flags) {
		buffer.putInt(length).putInt(flags);
	}

	public static BlockStatus decodeBlockStatus(ByteBuffer data) throws NbdProtocolException {
		if (data.remaining() < 12 || (data.remaining() - 4) % 8 != 0) {
			throw new NbdProtocolException("Malformed block status chunk");
		}
		int contextId = data.getInt();
		List<BlockDescriptor> descriptors = new ArrayList<>(data.remaining() / 8);
		while (data.hasRemaining()) {
			descriptors.add(new BlockDescriptor(Integer.toUnsignedLong(data.getInt()), data.getInt()));
		}
		return new BlockStatus(contextId, List.copyOf(descriptors));
	}

	// Strings

	static byte[] utf8(String value) {
		return value.getBytes(StandardCharsets.UTF_8);
	}

	private static byte[] truncatedUtf8(@Nullable String message) {
		byte[] text = utf8((message != null) ? message : "");
		if (text.length > Nbd.MAX_STRING_LENGTH) {
			byte[] shorter = new byte[Nbd.MAX_STRING_LENGTH];
			System.arraycopy(text, 0, shorter, 0, shorter.length);
			return shorter;
		}
		return text;
	}

	private static void putString32(ByteBuffer buffer, String value) {
		byte[] bytes = utf8(value);
		buffer.putInt(bytes.length).put(bytes);
	}

	private static String getString32(ByteBuffer data) throws NbdProtocolException {
		expect(data, 4, "string length");
		long length = Integer.toUnsignedLong(data.getInt());
		if (length > Nbd.MAX_STRING_LENGTH) {
			throw new NbdProtocolException("String longer than " + Nbd.MAX_STRING_LENGTH + " bytes");
		}
		expect(data, (int) length, "string");
		return getString(data, (int) length);
	}

	private static String getString(ByteBuffer data, int length) {
		byte[] bytes = new byte[length];
		data.get(bytes);
		return new String(bytes, StandardCharsets.UTF_8);
	}

	private static void expect(ByteBuffer data, int length, String what) throws NbdProtocolException {
		if (data.remaining() < length) {
			throw new NbdProtocolException("Truncated " + what);
		}
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

	/** A transmission request header; {@code length} is unsigned. */
	public record Request(int flags, int type, long handle, long offset, long length) {

		public boolean hasFlag(int flag) {
			return (this.flags & flag) != 0;
		}

	}

	/** A simple reply (after its magic). */
	public record SimpleReply(int error, long handle) {
	}

	/** A structured reply chunk header (after its magic). */
	public record ChunkHeader(int flags, int type, long handle, long length) {

		public boolean done() {
			return (this.flags & Nbd.REPLY_FLAG_DONE) != 0;
		}

	}

	/** The payload of an error chunk; {@code offset} is -1 without an offset. */
	public record ErrorPayload(int error, String message, long offset) {
	}

	/** The payload of a block status chunk. */
	public record BlockStatus(int contextId, List<BlockDescriptor> descriptors) {
	}

	/** One block status descriptor. */
	public record BlockDescriptor(long length, int flags) {
	}

}
