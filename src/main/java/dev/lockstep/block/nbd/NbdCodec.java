package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Encodes and decodes the messages of the NBD transmission phase (requests, simple
 * replies and structured reply chunks) to and from big-endian {@link ByteBuffer}s; those
 * of the handshake are {@link NbdHandshakeCodec}'s. Shared by the server and the client.
 * Encoders write at the buffer's position and advance it; decoders read at the position
 * and expect the whole message to be present.
 */
public final class NbdCodec {

	private NbdCodec() {
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

	static String getString(ByteBuffer data, int length) {
		byte[] bytes = new byte[length];
		data.get(bytes);
		return new String(bytes, StandardCharsets.UTF_8);
	}

	static void expect(ByteBuffer data, int length, String what) throws NbdProtocolException {
		if (data.remaining() < length) {
			throw new NbdProtocolException("Truncated " + what);
		}
	}

	// Messages

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
