package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice.Extent;
import dev.lockstep.block.nbd.ChannelInput;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.NbdProtocolException;
import dev.lockstep.block.nbd.NbdThreads;
import dev.lockstep.block.nbd.client.ReplyReader.Pending;
import dev.lockstep.block.nbd.client.RequestSender.Outgoing;

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
 *
 * <p>
 * Requests are sent by a {@link RequestSender} and their replies read by a
 * {@link ReplyReader}; this class ties them to the connection's lifecycle, open until it
 * fails, is aborted or is closed.
 */
public final class NbdClient implements AutoCloseable {

	private final String target;

	private final ExportInfo info;

	private final Options options;

	private final Semaphore inFlight;

	private final RequestSender sender;

	private final ReplyReader replies;

	private final AtomicLong handles = new AtomicLong();

	/**
	 * The first failure of the connection, which every request failed by it reports; set
	 * once.
	 */
	private final AtomicReference<IOException> failure = new AtomicReference<>();

	private volatile boolean closing;

	NbdClient(GatheringByteChannel channel, String target, ChannelInput input, ExportInfo info, int metaContextId,
			Options options) {
		this.target = target;
		this.info = info;
		this.options = options;
		this.inFlight = new Semaphore(options.maxInFlight());
		this.sender = new RequestSender(channel, this::sendFailed);
		this.replies = new ReplyReader(input, target, info, metaContextId, this.inFlight);
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
		return NbdConnector.connect(address, export, options);
	}

	/**
	 * Lists the exports of the server at {@code address} with {@code NBD_OPT_LIST}.
	 */
	public static List<String> listExports(InetSocketAddress address) throws IOException {
		return listExports(address, Options.defaults());
	}

	/**
	 * Lists the exports of the server at {@code address} with {@code NBD_OPT_LIST}, over
	 * TLS if the options ask for it.
	 */
	public static List<String> listExports(InetSocketAddress address, Options options) throws IOException {
		return NbdConnector.listExports(address, options);
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
		return this.replies.size();
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
		this.replies.add(handle, request);
		if (this.failure.get() != null) {
			this.replies.fail(handle, closedException());
			return request.future;
		}
		this.sender.send(new Outgoing(flags, request.type, handle, request.offset, (int) length, payload));
		return request.future;
	}

	private void sendFailed(IOException ex) {
		failAll(new IOException("Connection to " + this.target + " failed: " + ex.getMessage(), ex));
	}

	/** The receive thread: reads replies until the connection ends. */
	private void receive() {
		try {
			this.replies.receive();
		}
		catch (IOException ex) {
			if (this.closing && this.replies.isEmpty()) {
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
		this.sender.stop(() -> this.replies.failAll(this::closedException));
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
		while (!this.replies.isEmpty() && this.failure.get() == null && System.nanoTime() < deadline) {
			try {
				Thread.sleep(1);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				break;
			}
		}
		if (this.failure.get() == null) {
			this.sender.sendDisconnect(this.handles.incrementAndGet());
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
	 * @param tls where TLS engines come from when the client must start TLS
	 * ({@code nbds://}); {@code null} for plaintext
	 */
	public record Options(int maxInFlight, boolean structuredReplies, boolean blockStatus, Duration connectTimeout,
			Duration closeTimeout, @Nullable ClientTls tls) {

		public Options {
			if (maxInFlight < 1) {
				throw new IllegalArgumentException("maxInFlight must be positive");
			}
		}

		public Options(int maxInFlight, boolean structuredReplies, boolean blockStatus, Duration connectTimeout,
				Duration closeTimeout) {
			this(maxInFlight, structuredReplies, blockStatus, connectTimeout, closeTimeout, null);
		}

		/** These options, starting TLS with engines from {@code tls}. */
		public Options withTls(@Nullable ClientTls tls) {
			return new Options(this.maxInFlight, this.structuredReplies, this.blockStatus, this.connectTimeout,
					this.closeTimeout, tls);
		}

		public static Options defaults() {
			return new Options(64, true, true, Duration.ofSeconds(10), Duration.ofSeconds(30));
		}

		public Options withMaxInFlight(int maxInFlight) {
			return new Options(maxInFlight, this.structuredReplies, this.blockStatus, this.connectTimeout,
					this.closeTimeout, this.tls);
		}

		public Options withStructuredReplies(boolean structuredReplies) {
			return new Options(this.maxInFlight, structuredReplies, this.blockStatus, this.connectTimeout,
					this.closeTimeout, this.tls);
		}

	}

}
