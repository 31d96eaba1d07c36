package dev.lockstep.block.nbd;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice.Extent;

/**
 * The replies of the transmission phase, simple or structured as negotiated, each sent
 * whole under the connection's write lock. An in-order connection defers its short
 * replies while the client's next request is already arriving, and sends them with one
 * write before its thread would wait for more input; the client (the primary's peer
 * connection) then takes them in one go too.
 */
final class NbdReplies {

	/**
	 * Room for the deferred replies of an in-order connection: some 200 header-only
	 * replies.
	 */
	private static final int DEFERRED_REPLIES = 4096;

	/** Replies of at most this many bytes may be deferred. */
	private static final int DEFERRABLE_REPLY = 64;

	private static final int MAX_DESCRIPTORS = 2048;

	/** Room for batched WRITE replies: some 50 structured ones. */
	private static final int BATCHED_REPLIES = 1024;

	private final NbdConnection connection;

	private final boolean structured;

	private final ReentrantLock writeLock = new ReentrantLock();

	/**
	 * Short replies of an in-order connection not sent yet. Touched only by the
	 * connection's one thread; null for other connections.
	 */
	private final @Nullable ByteBuffer deferred;

	private final @Nullable InputStream socketInput;

	/**
	 * Replies to short WRITEs that the reading thread processed itself while the client's
	 * next request was already read ahead; see {@link #okLater}. Touched only by the
	 * thread that holds the connection's read lock.
	 */
	private final ByteBuffer batch = ByteBuffer.allocateDirect(BATCHED_REPLIES);

	NbdReplies(NbdConnection connection, SocketChannel channel, boolean structured, boolean inOrder)
			throws IOException {
		this.connection = connection;
		this.structured = structured;
		this.deferred = inOrder ? ByteBuffer.allocateDirect(DEFERRED_REPLIES) : null;
		this.socketInput = inOrder ? channel.socket().getInputStream() : null;
	}

	/** Whether this in-order connection holds back replies it has not sent yet. */
	boolean holdsReplies() {
		return this.deferred != null && this.deferred.position() > 0;
	}

	/**
	 * Whether the client's next request has begun to arrive, so reading it will not wait
	 * long.
	 */
	boolean moreInputArriving(ChannelInput input) throws IOException {
		return input.buffered() > 0 || this.connection.tlsBuffered() > 0
				|| (this.socketInput != null && this.socketInput.available() > 0);
	}

	void sendDeferred() throws IOException {
		ByteBuffer held = this.deferred;
		if (held == null) {
			return;
		}
		held.flip();
		try {
			writeNow(held);
		}
		finally {
			held.clear();
		}
	}

	/** Replies to a READ with its data, read into {@code data}. */
	void data(NbdCodec.Request request, ByteBuffer data, ByteBuffer header) throws IOException {
		header.clear();
		if (this.structured) {
			NbdCodec.encodeChunkHeader(header, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, request.handle(),
					8 + (int) request.length());
			header.putLong(request.offset());
		}
		else {
			NbdCodec.encodeSimpleReply(header, 0, request.handle());
		}
		write(header.flip(), data);
	}

	/**
	 * Replies to a READ as data and hole chunks. Extents may cover less than the request.
	 */
	void sparse(NbdCodec.Request request, ByteBuffer data, List<Extent> extents) throws IOException {
		List<ByteBuffer> buffers = new ArrayList<>();
		long offset = request.offset();
		long end = offset + request.length();
		long position = offset;
		int count = extents.size();
		for (int i = 0; i < count && position < end; i++) {
			Extent extent = extents.get(i);
			long runEnd = Math.min(end, position + extent.length());
			boolean last = runEnd >= end;
			addChunk(buffers, request, data, offset, position, runEnd, extent.zero(), last);
			position = runEnd;
		}
		if (position < end) {
			addChunk(buffers, request, data, offset, position, end, false, true);
		}
		write(buffers.toArray(new ByteBuffer[0]));
	}

	private static void addChunk(List<ByteBuffer> buffers, NbdCodec.Request request, ByteBuffer data, long start,
			long from, long to, boolean hole, boolean last) {
		int flags = last ? Nbd.REPLY_FLAG_DONE : 0;
		int length = (int) (to - from);
		if (hole) {
			ByteBuffer chunk = ByteBuffer.allocate(Nbd.STRUCTURED_REPLY_HEADER_SIZE + 12);
			NbdCodec.encodeChunkHeader(chunk, flags, Nbd.REPLY_TYPE_OFFSET_HOLE, request.handle(), 12);
			NbdCodec.encodeHole(chunk, from, length);
			buffers.add(chunk.flip());
		}
		else {
			ByteBuffer chunk = ByteBuffer.allocate(Nbd.STRUCTURED_REPLY_HEADER_SIZE + 8);
			NbdCodec.encodeChunkHeader(chunk, flags, Nbd.REPLY_TYPE_OFFSET_DATA, request.handle(), 8 + length);
			chunk.putLong(from);
			buffers.add(chunk.flip());
			buffers.add(data.slice((int) (from - start), length));
		}
	}

	/** Replies to a BLOCK_STATUS with the base:allocation descriptors of the extents. */
	void blockStatus(NbdCodec.Request request, List<Extent> extents) throws IOException {
		int max = request.hasFlag(Nbd.CMD_FLAG_REQ_ONE) ? 1 : MAX_DESCRIPTORS;
		List<long[]> descriptors = new ArrayList<>();
		long remaining = request.length();
		for (Extent extent : extents) {
			if (remaining <= 0) {
				break;
			}
			long length = Math.min(extent.length(), remaining);
			if (length <= 0) {
				continue;
			}
			int flags = (extent.hole() ? Nbd.STATE_HOLE : 0) | (extent.zero() ? Nbd.STATE_ZERO : 0);
			long[] previous = descriptors.isEmpty() ? null : descriptors.get(descriptors.size() - 1);
			if (previous != null && previous[1] == flags) {
				previous[0] += length;
			}
			else if (descriptors.size() < max) {
				descriptors.add(new long[] { length, flags });
			}
			else {
				break;
			}
			remaining -= length;
		}
		if (descriptors.isEmpty()) {
			descriptors.add(new long[] { request.length(), 0 });
		}
		ByteBuffer payload = ByteBuffer.allocate(Nbd.STRUCTURED_REPLY_HEADER_SIZE + 4 + 8 * descriptors.size());
		NbdCodec.encodeChunkHeader(payload, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_BLOCK_STATUS, request.handle(),
				4 + 8 * descriptors.size());
		NbdCodec.encodeBlockStatusStart(payload, HandshakeExports.META_CONTEXT_ID);
		for (long[] descriptor : descriptors) {
			NbdCodec.encodeBlockDescriptor(payload, (int) descriptor[0], (int) descriptor[1]);
		}
		write(payload.flip());
	}

	void ok(NbdCodec.Request request, ByteBuffer header) throws IOException {
		header.clear();
		encodeOk(header, request);
		write(header.flip());
	}

	/**
	 * Puts the reply that {@code request} succeeded, with no data, into {@code buffer}.
	 */
	private void encodeOk(ByteBuffer buffer, NbdCodec.Request request) {
		if (this.structured) {
			NbdCodec.encodeChunkHeader(buffer, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.handle(), 0);
		}
		else {
			NbdCodec.encodeSimpleReply(buffer, 0, request.handle());
		}
	}

	/**
	 * Replies to a WRITE later, together with the replies to the requests after it: the
	 * reading thread calls this while the next request is already read ahead, and
	 * {@link #sendBatch} before it would wait for more input or stops reading. The client
	 * then takes several replies with one read, and the server sends them with one write.
	 */
	void okLater(NbdCodec.Request request) throws IOException {
		if (this.batch.remaining() < Nbd.STRUCTURED_REPLY_HEADER_SIZE) {
			sendBatch();
		}
		encodeOk(this.batch, request);
	}

	/** Whether replies given to {@link #okLater} wait to be sent. */
	boolean holdsBatch() {
		return this.batch.position() > 0;
	}

	/** Sends the replies given to {@link #okLater}. */
	void sendBatch() throws IOException {
		this.batch.flip();
		try {
			writeNow(this.batch);
		}
		finally {
			this.batch.clear();
		}
	}

	void error(NbdCodec.Request request, int error, String message, ByteBuffer header) throws IOException {
		if (this.structured) {
			ByteBuffer chunk = ByteBuffer
				.allocate(Nbd.STRUCTURED_REPLY_HEADER_SIZE + NbdCodec.errorLength(message, false));
			NbdCodec.encodeChunkHeader(chunk, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, request.handle(),
					NbdCodec.errorLength(message, false));
			NbdCodec.encodeError(chunk, error, message, -1);
			write(chunk.flip());
		}
		else {
			header.clear();
			NbdCodec.encodeSimpleReply(header, error, request.handle());
			write(header.flip());
		}
	}

	private void write(ByteBuffer... buffers) throws IOException {
		ByteBuffer held = this.deferred;
		if (held != null) {
			long length = 0;
			for (ByteBuffer buffer : buffers) {
				length += buffer.remaining();
			}
			if (length <= DEFERRABLE_REPLY) {
				if (held.remaining() < length) {
					sendDeferred();
				}
				for (ByteBuffer buffer : buffers) {
					held.put(buffer);
				}
				return;
			}
			if (holdsReplies()) {
				sendDeferred();
			}
		}
		writeNow(buffers);
	}

	private void writeNow(ByteBuffer... buffers) throws IOException {
		this.writeLock.lock();
		try {
			this.connection.writeAll(buffers);
		}
		catch (IOException ex) {
			throw new ConnectionLostException(ex);
		}
		finally {
			this.writeLock.unlock();
		}
	}

	/** A reply could not be sent: the connection is gone, not the device. */
	static final class ConnectionLostException extends IOException {

		private static final long serialVersionUID = 1L;

		ConnectionLostException(IOException cause) {
			super(cause.getMessage(), cause);
		}

	}

}
