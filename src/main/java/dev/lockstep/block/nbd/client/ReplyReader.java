package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

import dev.lockstep.block.BlockDevice.Extent;
import dev.lockstep.block.nbd.ChannelInput;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.NbdCodec;
import dev.lockstep.block.nbd.NbdProtocolException;

/**
 * The reply side of an {@link NbdClient}: the requests sent and not yet replied to, by
 * handle, and the reading of their replies, simple or structured, on the client's receive
 * thread. A request leaves the pending requests when its last reply comes or when it
 * fails, and gives back its permit of the client's in-flight limit then.
 */
final class ReplyReader {

	private static final int MAX_CHUNK_PAYLOAD = 1024 * 1024;

	private final ChannelInput input;

	private final String target;

	private final boolean structuredReplies;

	private final int metaContextId;

	private final Semaphore inFlight;

	private final Map<Long, Pending> pending = new ConcurrentHashMap<>();

	/**
	 * Held by the receiving thread while it reads one reply, and with it a READ's data
	 * into the request's buffer; a request leaves {@link #pending} only under it, so once
	 * a request has failed nothing writes into its buffer.
	 */
	private final ReentrantLock receiveLock = new ReentrantLock();

	/**
	 * Creates the reply side of a connection.
	 * @param input the connection's input, past the handshake
	 * @param target the connection, for messages
	 * @param info the negotiated export
	 * @param metaContextId the id of base:allocation, or -1
	 * @param inFlight the client's in-flight limit, whose permit each pending request
	 * holds
	 */
	ReplyReader(ChannelInput input, String target, ExportInfo info, int metaContextId, Semaphore inFlight) {
		this.input = input;
		this.target = target;
		this.structuredReplies = info.structuredReplies();
		this.metaContextId = metaContextId;
		this.inFlight = inFlight;
	}

	/** Adds a request that holds a permit of the in-flight limit. */
	void add(long handle, Pending request) {
		this.pending.put(handle, request);
	}

	/** Number of requests sent and not yet replied to. */
	int size() {
		return this.pending.size();
	}

	boolean isEmpty() {
		return this.pending.isEmpty();
	}

	/**
	 * Reads replies and completes their requests until reading fails, which ends the
	 * connection.
	 */
	void receive() throws IOException {
		while (true) {
			ByteBuffer buffer = this.input.require(4);
			int magic = NbdCodec.decodeReplyMagic(buffer);
			Pending done;
			this.receiveLock.lock();
			try {
				done = (magic == Nbd.SIMPLE_REPLY_MAGIC)
						? receiveSimple(NbdCodec.decodeSimpleReplyRest(this.input.require(12)))
						: receiveChunk(NbdCodec.decodeChunkHeaderRest(this.input.require(16)));
			}
			finally {
				this.receiveLock.unlock();
			}
			if (done != null) {
				complete(done);
			}
		}
	}

	/** Reads a simple reply; returns its request, no longer pending. */
	private @Nullable Pending receiveSimple(NbdCodec.SimpleReply reply) throws IOException {
		Pending request = this.pending.get(reply.handle());
		if (request == null) {
			throw new NbdProtocolException("Reply for unknown handle " + reply.handle());
		}
		if (this.structuredReplies && request.type == Nbd.CMD_READ && reply.error() == 0) {
			throw new NbdProtocolException("Simple reply to READ after structured replies were negotiated");
		}
		if (reply.error() != 0) {
			request.error(reply.error(), null);
		}
		else if (request.type == Nbd.CMD_READ) {
			this.input.readFully(request.destination().duplicate());
		}
		return claim(reply.handle(), request);
	}

	/**
	 * Reads a structured reply chunk; returns its request once the last chunk has come,
	 * else null.
	 */
	private @Nullable Pending receiveChunk(NbdCodec.ChunkHeader chunk) throws IOException {
		Pending request = this.pending.get(chunk.handle());
		if (request == null) {
			throw new NbdProtocolException("Reply chunk for unknown handle " + chunk.handle());
		}
		long length = chunk.length();
		switch (chunk.type()) {
			case Nbd.REPLY_TYPE_NONE -> {
				if (length != 0 || !chunk.done()) {
					throw new NbdProtocolException("Malformed NONE chunk");
				}
			}
			case Nbd.REPLY_TYPE_OFFSET_DATA -> {
				if (request.type != Nbd.CMD_READ || length < 9) {
					throw new NbdProtocolException("Unexpected data chunk");
				}
				long offset = this.input.require(8).getLong();
				ByteBuffer target = request.slice(offset, length - 8);
				this.input.readFully(target);
			}
			case Nbd.REPLY_TYPE_OFFSET_HOLE -> {
				if (request.type != Nbd.CMD_READ || length != 12) {
					throw new NbdProtocolException("Unexpected hole chunk");
				}
				ByteBuffer hole = this.input.require(12);
				long offset = hole.getLong();
				long size = Integer.toUnsignedLong(hole.getInt());
				ByteBuffer target = request.slice(offset, size);
				while (target.hasRemaining()) {
					target.put((byte) 0);
				}
			}
			case Nbd.REPLY_TYPE_BLOCK_STATUS -> {
				if (request.type != Nbd.CMD_BLOCK_STATUS || length > MAX_CHUNK_PAYLOAD) {
					throw new NbdProtocolException("Unexpected block status chunk");
				}
				NbdCodec.BlockStatus status = NbdCodec.decodeBlockStatus(this.input.readBytes((int) length));
				if (status.contextId() == this.metaContextId) {
					for (NbdCodec.BlockDescriptor descriptor : status.descriptors()) {
						boolean hole = (descriptor.flags() & Nbd.STATE_HOLE) != 0;
						boolean zero = (descriptor.flags() & Nbd.STATE_ZERO) != 0;
						request.extents.add(new Extent(descriptor.length(), hole, zero));
					}
				}
			}
			default -> {
				if ((chunk.type() & 0x8000) == 0 || length > MAX_CHUNK_PAYLOAD) {
					throw new NbdProtocolException("Unknown reply chunk type " + chunk.type());
				}
				NbdCodec.ErrorPayload error = NbdCodec.decodeError(this.input.readBytes((int) length),
						chunk.type() == Nbd.REPLY_TYPE_ERROR_OFFSET);
				request.error(error.error(), error.message());
			}
		}
		return chunk.done() ? claim(chunk.handle(), request) : null;
	}

	/**
	 * Takes a replied request out of {@link #pending}, called with the receive lock held.
	 * Returns null if the request has failed meanwhile, which then owns its completion.
	 */
	private @Nullable Pending claim(long handle, Pending request) {
		if (!this.pending.remove(handle, request)) {
			return null;
		}
		this.inFlight.release();
		return request;
	}

	private void complete(Pending request) {
		if (request.error != 0) {
			request.future.completeExceptionally(new NbdCommandException(Nbd.commandName(request.type) + " at "
					+ request.offset + "+" + request.length + " on " + this.target, request.error, request.message));
			return;
		}
		if (request.dst != null) {
			request.dst.position(request.dst.limit());
		}
		request.future.complete(request);
	}

	/** Fails a request unless its reply has come or it has failed already. */
	void fail(long handle, IOException ex) {
		Pending request = this.pending.remove(handle);
		if (request != null) {
			this.inFlight.release();
			request.future.completeExceptionally(ex);
		}
	}

	/**
	 * Fails every pending request, each with an exception of its own, once no reply is
	 * being read; the caller has closed the socket, which ends a blocked read.
	 */
	void failAll(Supplier<IOException> failure) {
		this.receiveLock.lock();
		try {
			for (Long handle : new ArrayList<>(this.pending.keySet())) {
				fail(handle, failure.get());
			}
		}
		finally {
			this.receiveLock.unlock();
		}
	}

	/** A request awaiting its reply. */
	static final class Pending {

		final int type;

		final long offset;

		final long length;

		final @Nullable ByteBuffer dst;

		final List<Extent> extents = new ArrayList<>();

		final CompletableFuture<Pending> future = new CompletableFuture<>();

		int error;

		@Nullable String message;

		Pending(int type, long offset, long length, @Nullable ByteBuffer dst) {
			this.type = type;
			this.offset = offset;
			this.length = length;
			this.dst = dst;
		}

		void error(int error, @Nullable String message) {
			if (this.error == 0) {
				this.error = (error != 0) ? error : Nbd.EIO;
				this.message = message;
			}
		}

		/** The part of the destination buffer for {@code [offset, offset + size)}. */
		ByteBuffer slice(long chunkOffset, long size) throws NbdProtocolException {
			long relative = chunkOffset - this.offset;
			if (relative < 0 || size < 0 || relative + size > this.length) {
				throw new NbdProtocolException("Reply chunk outside the requested range");
			}
			ByteBuffer destination = destination();
			return destination.slice(destination.position() + (int) relative, (int) size);
		}

		/** The buffer a READ fills; only a READ has one. */
		ByteBuffer destination() {
			ByteBuffer destination = this.dst;
			Assert.state(destination != null, "Only a READ has a destination buffer");
			return destination;
		}

	}

}
