package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

import dev.lockstep.block.BlockDevice.Extent;
import dev.lockstep.block.nbd.ChannelInput;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.NbdCodec;
import dev.lockstep.block.nbd.NbdProtocolException;
import dev.lockstep.block.nbd.NbdThreads;

/**
 * An NBD client for one export: fixed newstyle handshake with {@code NBD_OPT_GO},
 * structured replies and base:allocation when the server offers them, and pipelined
 * requests. Every command returns a {@link CompletableFuture} at once; up to
 * {@link Options#maxInFlight()} requests are in flight, replies are matched by handle and
 * may arrive in any order. Submitting blocks while the limit is reached.
 *
 * <p>
 * Futures complete on the client's receive thread: callbacks attached to them must not
 * block. A failed connection fails every pending and later request with an
 * {@link IOException}; a command the server refuses fails with an
 * {@link NbdCommandException} and the connection stays usable.
 */
public final class NbdClient implements AutoCloseable {

	private static final int MAX_CHUNK_PAYLOAD = 1024 * 1024;

	/** The most requests sent with one gathering write. */
	private static final int MAX_BATCH = 64;

	private static final ScheduledExecutorService timer = Executors
		.newSingleThreadScheduledExecutor(NbdThreads.factory("nbd-client-timer"));

	private final SocketChannel channel;

	private final String target;

	private final ExportInfo info;

	private final ChannelInput input;

	private final Options options;

	private final int metaContextId;

	private final ReentrantLock sendLock = new ReentrantLock();

	/**
	 * Held by the receiving thread while it reads one reply, and with it a READ's data
	 * into the request's buffer; a request leaves {@link #pending} only under it, so once
	 * a request has failed nothing writes into its buffer.
	 */
	private final ReentrantLock receiveLock = new ReentrantLock();

	/** Requests waiting to be sent, in the order they were submitted. */
	private final Queue<Outgoing> outgoing = new ConcurrentLinkedQueue<>();

	/**
	 * Guarded by {@link #sendLock}: request headers and the gathering array of one batch.
	 */
	private final ByteBuffer requestHeaders = ByteBuffer.allocateDirect(Nbd.REQUEST_HEADER_SIZE * MAX_BATCH);

	private final ByteBuffer[] iov = new ByteBuffer[2 * MAX_BATCH];

	private final Semaphore inFlight;

	private final Map<Long, Pending> pending = new ConcurrentHashMap<>();

	private final AtomicLong handles = new AtomicLong();

	/**
	 * The first failure of the connection, which every request failed by it reports; set
	 * once.
	 */
	private final AtomicReference<IOException> failure = new AtomicReference<>();

	private volatile boolean closing;

	private NbdClient(SocketChannel channel, String target, ChannelInput input, ExportInfo info, int metaContextId,
			Options options) {
		this.channel = channel;
		this.target = target;
		this.input = input;
		this.info = info;
		this.metaContextId = metaContextId;
		this.options = options;
		this.inFlight = new Semaphore(options.maxInFlight());
		Thread receiver = NbdThreads.factory("nbd-client " + target).newThread(this::receive);
		receiver.start();
	}

	/**
	 * Connects to an export given as {@code nbd://host[:port]/export}.
	 */
	public static NbdClient connect(URI uri) throws IOException {
		return connect(uri, Options.defaults());
	}

	public static NbdClient connect(URI uri, Options options) throws IOException {
		if (!"nbd".equals(uri.getScheme()) || uri.getHost() == null) {
			throw new IllegalArgumentException("Not an nbd://host[:port]/export URI: " + uri);
		}
		String path = (uri.getPath() != null) ? uri.getPath() : "";
		String export = path.startsWith("/") ? path.substring(1) : path;
		int port = (uri.getPort() != -1) ? uri.getPort() : Nbd.DEFAULT_PORT;
		return connect(new InetSocketAddress(uri.getHost(), port), export, options);
	}

	public static NbdClient connect(InetSocketAddress address, String export) throws IOException {
		return connect(address, export, Options.defaults());
	}

	/**
	 * Connects to {@code export} on the server at {@code address}.
	 * @throws NbdException if the handshake fails, e.g. because the export does not exist
	 */
	public static NbdClient connect(InetSocketAddress address, String export, Options options) throws IOException {
		String target = "nbd://" + address.getHostString() + ":" + address.getPort() + "/" + export;
		SocketChannel channel = open(address, options);
		ScheduledFuture<?> watchdog = watchdog(channel, options);
		try {
			ChannelInput input = new ChannelInput(channel, 64 * 1024);
			ClientHandshake handshake = new ClientHandshake(channel, input, target);
			handshake.start();
			boolean structured = options.structuredReplies() && handshake.structuredReplies();
			int contextId = -1;
			if (structured && options.blockStatus()) {
				contextId = handshake.setMetaContext(export);
			}
			ExportInfo info = handshake.go(export, structured, contextId >= 0);
			watchdog.cancel(false);
			return new NbdClient(channel, target, input, info, contextId, options);
		}
		catch (IOException | RuntimeException ex) {
			watchdog.cancel(false);
			channel.close();
			if (ex instanceof NbdException) {
				throw ex;
			}
			throw new NbdException("NBD handshake with " + target + " failed: " + ex.getMessage(), ex);
		}
	}

	/**
	 * Lists the exports of the server at {@code address} with {@code NBD_OPT_LIST}.
	 */
	public static List<String> listExports(InetSocketAddress address) throws IOException {
		String target = "nbd://" + address.getHostString() + ":" + address.getPort();
		Options options = Options.defaults();
		try (SocketChannel channel = open(address, options)) {
			ScheduledFuture<?> watchdog = watchdog(channel, options);
			try {
				ClientHandshake handshake = new ClientHandshake(channel, new ChannelInput(channel, 64 * 1024), target);
				handshake.start();
				List<String> names = handshake.list();
				handshake.abort();
				return names;
			}
			finally {
				watchdog.cancel(false);
			}
		}
	}

	private static SocketChannel open(InetSocketAddress address, Options options) throws IOException {
		SocketChannel channel = SocketChannel.open();
		try {
			channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
			channel.socket().connect(address, (int) options.connectTimeout().toMillis());
			return channel;
		}
		catch (IOException ex) {
			channel.close();
			throw new NbdException("Cannot connect to NBD server " + address.getHostString() + ":" + address.getPort()
					+ ": " + ex.getMessage(), ex);
		}
	}

	private static ScheduledFuture<?> watchdog(SocketChannel channel, Options options) {
		return timer.schedule(() -> {
			try {
				channel.close();
			}
			catch (IOException ex) {
				// Closing anyway.
			}
		}, options.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
	}

	/** The negotiated export: size, flags, block sizes. */
	public ExportInfo info() {
		return this.info;
	}

	public long size() {
		return this.info.size();
	}

	/** Where this client is connected, as {@code nbd://host:port/export}. */
	public String target() {
		return this.target;
	}

	/** Whether the connection is still usable. */
	public boolean isOpen() {
		return this.failure.get() == null && !this.closing;
	}

	/** Number of requests sent and not yet replied to. */
	public int inFlight() {
		return this.pending.size();
	}

	/**
	 * Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}. Its
	 * position reaches its limit when the future completes; do not touch the buffer
	 * before then.
	 */
	public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
		int length = dst.remaining();
		Pending request = new Pending(Nbd.CMD_READ, offset, length, dst);
		return submit(request, 0, length, null).thenApply((ignored) -> null);
	}

	/**
	 * Writes {@code src.remaining()} bytes at {@code offset}. The buffer's position is
	 * not changed; do not modify it before the future completes. The request may be sent
	 * after this returns, by another thread: call {@link #abort(String)} before reusing
	 * the buffer of a request whose reply you stopped waiting for.
	 */
	public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
		int length = src.remaining();
		Pending request = new Pending(Nbd.CMD_WRITE, offset, length, null);
		return submit(request, fua ? Nbd.CMD_FLAG_FUA : 0, length, src.duplicate()).thenApply((ignored) -> null);
	}

	/**
	 * Writes zeroes; {@code mayTrim} lets the server deallocate instead.
	 */
	public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fua) {
		int flags = (fua ? Nbd.CMD_FLAG_FUA : 0) | (mayTrim ? 0 : Nbd.CMD_FLAG_NO_HOLE);
		return submit(new Pending(Nbd.CMD_WRITE_ZEROES, offset, length, null), flags, length, null)
			.thenApply((ignored) -> null);
	}

	public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
		return submit(new Pending(Nbd.CMD_TRIM, offset, length, null), fua ? Nbd.CMD_FLAG_FUA : 0, length, null)
			.thenApply((ignored) -> null);
	}

	/** Makes every write the server has replied to durable. */
	public CompletableFuture<Void> flush() {
		return submit(new Pending(Nbd.CMD_FLUSH, 0, 0, null), 0, 0, null).thenApply((ignored) -> null);
	}

	/**
	 * Queries base:allocation for a range; the extents may cover less than asked.
	 * Requires {@link ExportInfo#blockStatus()}.
	 */
	public CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
		if (!this.info.blockStatus()) {
			return CompletableFuture.failedFuture(
					new UnsupportedOperationException("base:allocation was not negotiated with " + this.target));
		}
		Pending request = new Pending(Nbd.CMD_BLOCK_STATUS, offset, length, null);
		return submit(request, 0, length, null).thenApply((ignored) -> List.copyOf(request.extents));
	}

	private CompletableFuture<Pending> submit(Pending request, int flags, long length, @Nullable ByteBuffer payload) {
		if (length < 0 || length > 0xFFFF_FFFFL) {
			return CompletableFuture.failedFuture(new IllegalArgumentException("length out of range: " + length));
		}
		IOException failed = this.failure.get();
		if (failed != null || this.closing) {
			return CompletableFuture.failedFuture(closedException());
		}
		try {
			this.inFlight.acquire();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return CompletableFuture.failedFuture(new IOException("Interrupted while waiting to send", ex));
		}
		long handle = this.handles.incrementAndGet();
		this.pending.put(handle, request);
		if (this.failure.get() != null) {
			fail(handle, closedException());
			return request.future;
		}
		this.outgoing.add(new Outgoing(flags, request.type, handle, request.offset, (int) length, payload));
		sendQueued();
		return request.future;
	}

	/**
	 * Sends the queued requests. Whichever thread gets the send lock sends every request
	 * queued so far, its own and other threads', with one gathering write per batch; the
	 * others return at once and wait for their replies. A thread that finds the lock
	 * taken leaves its request to the holder, which looks at the queue again after
	 * unlocking.
	 */
	private void sendQueued() {
		while (!this.outgoing.isEmpty() && this.sendLock.tryLock()) {
			try {
				sendBatches();
			}
			catch (IOException ex) {
				failAll(new IOException("Connection to " + this.target + " failed: " + ex.getMessage(), ex));
			}
			finally {
				this.sendLock.unlock();
			}
		}
	}

	private void sendBatches() throws IOException {
		Outgoing next;
		while ((next = this.outgoing.poll()) != null) {
			ByteBuffer headers = this.requestHeaders.clear();
			int count = 0;
			long bytes = 0;
			do {
				headers.limit(headers.position() + Nbd.REQUEST_HEADER_SIZE);
				ByteBuffer header = headers.slice();
				NbdCodec.encodeRequest(header, next.flags, next.type, next.handle, next.offset, next.length);
				this.iov[count++] = header.flip();
				headers.position(headers.limit());
				bytes += Nbd.REQUEST_HEADER_SIZE;
				if (next.payload != null) {
					this.iov[count++] = next.payload;
					bytes += next.payload.remaining();
				}
			}
			while (count + 2 <= this.iov.length && (next = this.outgoing.poll()) != null);
			while (bytes > 0) {
				bytes -= this.channel.write(this.iov, 0, count);
			}
			Arrays.fill(this.iov, 0, count, null);
			if (this.failure.get() != null) {
				throw closedException();
			}
		}
	}

	private void receive() {
		try {
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
		catch (IOException ex) {
			if (this.closing && this.pending.isEmpty()) {
				failAll(closedException());
			}
			else if (ex instanceof NbdProtocolException) {
				failAll(new IOException("Protocol error from " + this.target + ": " + ex.getMessage(), ex));
			}
			else {
				failAll(new IOException("Connection to " + this.target + " lost: " + ex.getMessage(), ex));
			}
		}
		catch (RuntimeException ex) {
			failAll(new IOException("NBD client for " + this.target + " failed: " + ex, ex));
		}
	}

	/** Reads a simple reply; returns its request, no longer pending. */
	private @Nullable Pending receiveSimple(NbdCodec.SimpleReply reply) throws IOException {
		Pending request = this.pending.get(reply.handle());
		if (request == null) {
			throw new NbdProtocolException("Reply for unknown handle " + reply.handle());
		}
		if (this.info.structuredReplies() && request.type == Nbd.CMD_READ && reply.error() == 0) {
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

	private void fail(long handle, IOException ex) {
		Pending request = this.pending.remove(handle);
		if (request != null) {
			this.inFlight.release();
			request.future.completeExceptionally(ex);
		}
	}

	/**
	 * Fails the connection: closes the socket and fails every pending request. The
	 * futures fail only once no thread sends or receives any more (the send and receive
	 * locks are taken after the socket is closed, which ends a blocked write or read), so
	 * a caller that sees its request fail may reuse the request's buffer at once. Every
	 * request fails with the first failure: closing the socket makes the sending and
	 * receiving threads fail as well, and their errors only echo it.
	 */
	private void failAll(IOException ex) {
		this.failure.compareAndSet(null, ex);
		try {
			this.channel.close();
		}
		catch (IOException ignored) {
			// Closing anyway.
		}
		this.sendLock.lock();
		this.receiveLock.lock();
		try {
			this.outgoing.clear();
			for (Long handle : new ArrayList<>(this.pending.keySet())) {
				fail(handle, closedException());
			}
		}
		finally {
			this.receiveLock.unlock();
			this.sendLock.unlock();
		}
	}

	/**
	 * Closes the connection at once, without waiting for the requests in flight, which
	 * fail. When this returns no thread sends any request's data or receives into a
	 * request's buffer any more, so their buffers may be reused; use it when a request
	 * took too long and its caller must return.
	 * @param reason why, which the failed requests report
	 */
	public void abort(String reason) {
		this.closing = true;
		failAll(new IOException("NBD client for " + this.target + " aborted: " + reason));
	}

	private IOException closedException() {
		IOException failed = this.failure.get();
		return (failed != null) ? new IOException(failed.getMessage(), failed)
				: new IOException("NBD client for " + this.target + " is closed");
	}

	/**
	 * Waits (boundedly) for requests in flight, sends {@code NBD_CMD_DISC} and closes the
	 * connection. Requests still pending then fail.
	 */
	@Override
	public void close() {
		if (this.closing) {
			return;
		}
		this.closing = true;
		long deadline = System.nanoTime() + this.options.closeTimeout().toNanos();
		while (!this.pending.isEmpty() && this.failure.get() == null && System.nanoTime() < deadline) {
			try {
				Thread.sleep(1);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				break;
			}
		}
		if (this.failure.get() == null) {
			this.sendLock.lock();
			try {
				ByteBuffer header = ByteBuffer.allocate(Nbd.REQUEST_HEADER_SIZE);
				NbdCodec.encodeRequest(header, 0, Nbd.CMD_DISC, this.handles.incrementAndGet(), 0, 0);
				header.flip();
				while (header.hasRemaining()) {
					this.channel.write(header);
				}
				this.channel.shutdownOutput();
			}
			catch (IOException ex) {
				// The server may already be gone.
			}
			finally {
				this.sendLock.unlock();
			}
		}
		failAll(new IOException("NBD client for " + this.target + " is closed"));
	}

	@Override
	public String toString() {
		return "NbdClient[" + this.target + "]";
	}

	/**
	 * Client options.
	 *
	 * @param maxInFlight the most requests in flight at once
	 * @param structuredReplies whether to ask for structured replies
	 * @param blockStatus whether to ask for base:allocation (needs structured replies)
	 * @param connectTimeout the limit for connecting and for the handshake
	 * @param closeTimeout how long {@link #close()} waits for requests in flight
	 */
	public record Options(int maxInFlight, boolean structuredReplies, boolean blockStatus, Duration connectTimeout,
			Duration closeTimeout) {

		public Options {
			if (maxInFlight < 1) {
				throw new IllegalArgumentException("maxInFlight must be positive");
			}
		}

		public static Options defaults() {
			return new Options(64, true, true, Duration.ofSeconds(10), Duration.ofSeconds(30));
		}

		public Options withMaxInFlight(int maxInFlight) {
			return new Options(maxInFlight, this.structuredReplies, this.blockStatus, this.connectTimeout,
					this.closeTimeout);
		}

		public Options withStructuredReplies(boolean structuredReplies) {
			return new Options(this.maxInFlight, structuredReplies, this.blockStatus, this.connectTimeout,
					this.closeTimeout);
		}

	}

	/** A request queued for sending; the payload of a WRITE is the caller's buffer. */
	private record Outgoing(int flags, int type, long handle, long offset, int length, @Nullable ByteBuffer payload) {
	}

	/** A request awaiting its reply. */
	private static final class Pending {

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
