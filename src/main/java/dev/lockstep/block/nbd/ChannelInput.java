package dev.lockstep.block.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Buffered reading from a channel: fixed-size messages are parsed out of one read-ahead
 * buffer (many pipelined request headers per system call), bulk data is copied from what
 * is buffered and then read straight into its destination. Not thread-safe; callers
 * serialize access. Shared by the server and the client.
 */
public final class ChannelInput {

	private final ReadableByteChannel channel;

	private final ByteBuffer buffer;

	public ChannelInput(ReadableByteChannel channel, int bufferSize) {
		this.channel = channel;
		this.buffer = ByteBuffer.allocateDirect(bufferSize).flip();
	}

	/**
	 * Makes sure {@code length} bytes are buffered and returns the buffer positioned at
	 * them; the caller consumes exactly {@code length} bytes.
	 */
	public ByteBuffer require(int length) throws IOException {
		return fill(length, false);
	}

	/**
	 * Like {@link #require(int)}, but reads no more than {@code length} bytes from the
	 * channel: what follows stays in the socket, for a caller that will read it straight
	 * into its own buffer with {@link #readFully}.
	 */
	public ByteBuffer requireExactly(int length) throws IOException {
		return fill(length, true);
	}

	private ByteBuffer fill(int length, boolean exactly) throws IOException {
		if (this.buffer.remaining() >= length) {
			return this.buffer;
		}
		if (length > this.buffer.capacity()) {
			throw new IllegalArgumentException("message of " + length + " bytes exceeds the input buffer");
		}
		this.buffer.compact();
		if (exactly) {
			this.buffer.limit(length);
		}
		try {
			while (this.buffer.position() < length) {
				if (this.channel.read(this.buffer) < 0) {
					throw new EOFException("Peer closed the connection");
				}
			}
		}
		finally {
			this.buffer.flip();
		}
		return this.buffer;
	}

	/** The number of bytes read from the channel and not consumed yet. */
	public int buffered() {
		return this.buffer.remaining();
	}

	/**
	 * Returns what is buffered and not consumed yet, and empties the buffer: for handing
	 * the stream over to another reader, such as TLS.
	 */
	public ByteBuffer takeBuffered() {
		ByteBuffer rest = ByteBuffer.allocate(this.buffer.remaining());
		rest.put(this.buffer).flip();
		return rest;
	}

	/** Fills {@code dst} completely. */
	public void readFully(ByteBuffer dst) throws IOException {
		if (this.buffer.hasRemaining()) {
			int count = Math.min(this.buffer.remaining(), dst.remaining());
			ByteBuffer slice = this.buffer.slice(this.buffer.position(), count);
			dst.put(slice);
			this.buffer.position(this.buffer.position() + count);
		}
		while (dst.hasRemaining()) {
			if (this.channel.read(dst) < 0) {
				throw new EOFException("Peer closed the connection");
			}
		}
	}

	/** Reads and discards {@code length} bytes, using only the read-ahead buffer. */
	public void skip(long length) throws IOException {
		long remaining = length;
		while (remaining > 0) {
			if (!this.buffer.hasRemaining()) {
				require((int) Math.min(remaining, this.buffer.capacity()));
			}
			int count = (int) Math.min(remaining, this.buffer.remaining());
			this.buffer.position(this.buffer.position() + count);
			remaining -= count;
		}
	}

	/**
	 * Reads {@code length} bytes into a new heap buffer; for small, bounded messages
	 * only.
	 */
	public ByteBuffer readBytes(int length) throws IOException {
		ByteBuffer data = ByteBuffer.allocate(length);
		readFully(data);
		return data.flip();
	}

}
