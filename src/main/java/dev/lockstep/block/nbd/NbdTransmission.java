package dev.lockstep.block.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.BlockDevice.Extent;
import dev.lockstep.block.Export;
import dev.lockstep.block.ExportStats;

/**
 * The transmission phase of one connection, served by a group of leader/follower threads
 * (see {@link NbdServer}): one thread at a time reads a request, then processes it and
 * replies while another reads the next one.
 */
final class NbdTransmission {

	private static final Log logger = LogFactory.getLog(NbdTransmission.class);

	/** WRITEs of this size or more make the next header be read without read-ahead. */
	private static final int LARGE_WRITE = 64 * 1024;

	/**
	 * READs and WRITEs of at most this size are processed by the reading thread when no
	 * other request is buffered (see {@link #keepsLead}). Larger ones gain from another
	 * thread receiving the next request meanwhile: with 256 KiB WRITEs (nbdcopy) the
	 * hand-off was a third faster than processing them on the reading thread.
	 */
	private static final int INLINE_REQUEST = 64 * 1024;

	/**
	 * A WRITE processed by the reading thread that takes longer than this (the page cache
	 * throttled it, or a durable update of the disk's metadata ran first) sends the
	 * following writes to other threads for {@link #HAND_OFF_AFTER_SLOW_WRITE}, so that
	 * requests queued behind them are read meanwhile.
	 */
	private static final long SLOW_INLINE_WRITE = TimeUnit.MILLISECONDS.toNanos(5);

	private static final long HAND_OFF_AFTER_SLOW_WRITE = TimeUnit.MILLISECONDS.toNanos(100);

	private final NbdConnection connection;

	private final NbdServer server;

	private final SocketChannel channel;

	private final SocketAddress remote;

	private final ChannelInput input;

	private final Export export;

	private final boolean structured;

	private final RequestValidator validator;

	private final NbdReplies replies;

	private final ReentrantLock readLock = new ReentrantLock();

	private final ConnectionBuffers buffers;

	private final AtomicInteger threads = new AtomicInteger();

	private final AtomicInteger readers = new AtomicInteger();

	private volatile boolean stopReading;

	/**
	 * Whether the last request was a large WRITE. The next header is then read without
	 * read-ahead, so that its data goes from the socket straight into its buffer instead
	 * of through the read-ahead buffer. Guarded by the read lock.
	 */
	private boolean largeWrites;

	/**
	 * Until when (in {@link System#nanoTime()}) every WRITE goes to another thread, after
	 * one processed by the reading thread was slow. Guarded by the read lock.
	 */
	private long handOffWritesUntil = System.nanoTime();

	NbdTransmission(NbdConnection connection, NbdServer server, SocketChannel channel, SocketAddress remote,
			ChannelInput input, NbdHandshake.Agreement agreement) throws IOException {
		this.connection = connection;
		this.server = server;
		this.channel = channel;
		this.remote = remote;
		this.input = input;
		this.export = agreement.export();
		this.structured = agreement.structured();
		this.validator = new RequestValidator(this.export, this.structured, agreement.blockStatus());
		this.replies = new NbdReplies(connection, channel, this.structured, this.export.inOrder());
		this.buffers = new ConnectionBuffers(server.buffers());
	}

	/** Serves requests as the connection's first thread. */
	void start() {
		this.threads.incrementAndGet();
		serve();
	}

	/** Makes every thread stop reading requests; the connection is closing. */
	void stop() {
		this.stopReading = true;
	}

	/** The leader/follower loop: read one request, then process and reply to it. */
	private void serve() {
		ByteBuffer header = ByteBuffer.allocateDirect(64);
		try {
			while (!this.stopReading) {
				if (this.replies.holdsReplies() && !this.replies.moreInputArriving(this.input)) {
					this.replies.sendDeferred();
				}
				ReceivedRequest work;
				this.readers.incrementAndGet();
				this.readLock.lock();
				try {
					if (this.stopReading) {
						break;
					}
					work = readRequest();
					while (work != null && keepsLead(work)) {
						boolean write = work.request().type() == Nbd.CMD_WRITE;
						long started = write ? System.nanoTime() : 0;
						try {
							process(work, header, true);
						}
						finally {
							work.release();
						}
						if (write) {
							long finished = System.nanoTime();
							if (finished - started > SLOW_INLINE_WRITE) {
								this.handOffWritesUntil = finished + HAND_OFF_AFTER_SLOW_WRITE;
							}
						}
						if (this.replies.holdsBatch() && this.input.buffered() < Nbd.REQUEST_HEADER_SIZE) {
							// Reading the next request may wait: send what is held first.
							this.replies.sendBatch();
						}
						work = this.stopReading ? null : readRequest();
					}
					if (this.replies.holdsBatch()) {
						this.replies.sendBatch();
					}
				}
				finally {
					this.readLock.unlock();
					this.readers.decrementAndGet();
				}
				if (work == null) {
					if (this.replies.holdsReplies()) {
						this.replies.sendDeferred();
					}
					break;
				}
				if (this.readers.get() == 0) {
					addThread();
				}
				try {
					process(work, header, false);
				}
				finally {
					work.release();
				}
			}
		}
		catch (NbdProtocolException ex) {
			logger.warn("NBD client " + this.remote + " violated the protocol: " + ex.getMessage() + "; closing");
			this.connection.close();
		}
		catch (EOFException ex) {
			logger.debug("NBD client " + this.remote + " disconnected");
			this.connection.close();
		}
		catch (IOException ex) {
			if (!this.connection.isClosed()) {
				logger.debug("NBD connection " + this.remote + " failed: " + ex);
			}
			this.connection.close();
		}
		catch (InterruptedException ex) {
			this.connection.close();
		}
		catch (RuntimeException ex) {
			logger.error("NBD connection " + this.remote + " failed", ex);
			this.connection.close();
		}
		finally {
			this.stopReading = true;
			if (this.threads.decrementAndGet() == 0) {
				this.connection.close();
			}
		}
	}

	/**
	 * Whether the reader processes this request itself and goes on reading, instead of
	 * handing the socket to another thread first. Handing over wakes a thread, a context
	 * switch per request that costs more than a short request itself, so the reader keeps
	 * a short READ when no further request is buffered yet; with requests buffered (a
	 * deep queue) another thread reads them meanwhile, and READs proceed side by side. It
	 * keeps a short WRITE whenever the device {@linkplain BlockDevice#writesLocally()
	 * writes locally}, buffered requests or not: writes to one image take turns in the
	 * kernel, so more writer threads would only wait for each other. After a slow one it
	 * hands WRITEs over for a while. A WRITE to a device that forwards it (a primary's)
	 * is always handed over, so that requests arriving while it waits for the peer are
	 * read; so is every request that may take long: FUA, FLUSH, or a large one.
	 */
	private boolean keepsLead(ReceivedRequest work) {
		NbdCodec.Request request = work.request();
		int type = request.type();
		if ((type != Nbd.CMD_READ && type != Nbd.CMD_WRITE) || request.length() > INLINE_REQUEST
				|| request.hasFlag(Nbd.CMD_FLAG_FUA) || this.export.inOrder()) {
			return false;
		}
		if (type == Nbd.CMD_READ) {
			return this.input.buffered() == 0 && this.connection.tlsBuffered() == 0;
		}
		return System.nanoTime() - this.handOffWritesUntil >= 0 && this.export.device().writesLocally();
	}

	private void addThread() {
		int current = this.threads.get();
		if (current < this.server.settings().threadsPerConnection() && !this.stopReading && !this.export.inOrder()
				&& this.threads.compareAndSet(current, current + 1)) {
			if (!this.server.spawn(this::serve)) {
				this.threads.decrementAndGet();
			}
		}
	}

	/**
	 * Reads the next request and, for WRITE, its data. Returns null on DISC. Data of
	 * requests that will be refused is read and discarded in bounded pieces so the stream
	 * stays in step.
	 */
	private @Nullable ReceivedRequest readRequest() throws IOException, InterruptedException {
		ByteBuffer header = this.largeWrites ? this.input.requireExactly(Nbd.REQUEST_HEADER_SIZE)
				: this.input.require(Nbd.REQUEST_HEADER_SIZE);
		NbdCodec.Request request = NbdCodec.decodeRequest(header);
		this.largeWrites = request.type() == Nbd.CMD_WRITE && request.length() >= LARGE_WRITE;
		if (request.type() == Nbd.CMD_DISC) {
			this.connection.disconnectRequested();
			this.stopReading = true;
			return null;
		}
		if (request.type() != Nbd.CMD_WRITE) {
			return new ReceivedRequest(request, null, null, this.buffers);
		}
		RequestValidator.Refusal refusal = this.validator.validate(request);
		if (refusal != null) {
			this.input.skip(request.length());
			return new ReceivedRequest(request, null, refusal, this.buffers);
		}
		ByteBuffer data = this.buffers.acquire((int) request.length());
		try {
			this.input.readFully(data);
		}
		catch (IOException | RuntimeException ex) {
			this.buffers.release(data);
			throw ex;
		}
		return new ReceivedRequest(request, data.flip(), null, this.buffers);
	}

	/**
	 * Processes one request and replies to it; a WRITE processed by the reading thread
	 * ({@code inline}) may have its reply batched with the next ones.
	 */
	private void process(ReceivedRequest work, ByteBuffer header, boolean inline)
			throws IOException, InterruptedException {
		NbdCodec.Request request = work.request();
		ExportStats stats = this.export.stats();
		RequestValidator.Refusal refusal = (work.refusal() != null) ? work.refusal() : this.validator.validate(request);
		if (refusal != null) {
			stats.recordError();
			logger.info("Refused " + Nbd.commandName(request.type()) + " from NBD client " + this.remote + " with "
					+ Nbd.errorName(refusal.error()) + ": " + refusal.reason());
			this.replies.error(request, refusal.error(), refusal.reason(), header);
			return;
		}
		try (Export.Ticket ticket = this.export.enter()) {
			BlockDevice device = ticket.device();
			boolean fua = request.hasFlag(Nbd.CMD_FLAG_FUA);
			switch (request.type()) {
				case Nbd.CMD_READ -> {
					read(device, request, header);
					stats.recordRead(request.length());
					return;
				}
				case Nbd.CMD_WRITE -> {
					device.write(request.offset(), work.writeData(), fua);
					stats.recordWrite(request.length());
				}
				case Nbd.CMD_FLUSH -> {
					device.flush();
					stats.recordFlush();
				}
				case Nbd.CMD_TRIM -> {
					device.trim(request.offset(), request.length(), fua);
					stats.recordTrim();
				}
				case Nbd.CMD_WRITE_ZEROES -> {
					device.writeZeroes(request.offset(), request.length(), !request.hasFlag(Nbd.CMD_FLAG_NO_HOLE), fua);
					stats.recordWriteZeroes();
				}
				case Nbd.CMD_BLOCK_STATUS -> {
					this.replies.blockStatus(request, device.allocation(request.offset(), request.length()));
					stats.recordBlockStatus();
					return;
				}
				default -> throw new IllegalStateException("unreachable");
			}
		}
		catch (IOException ex) {
			if (ex instanceof NbdReplies.ConnectionLostException || !this.channel.isOpen()) {
				throw ex;
			}
			stats.recordError();
			logger.warn("I/O error on export " + this.export.name() + " (" + Nbd.commandName(request.type()) + " at "
					+ request.offset() + "+" + request.length() + "): " + ex.getMessage());
			int failure = Nbd.errorFor(ex);
			this.replies.error(request, failure,
					((failure == Nbd.ENOSPC) ? "Out of space: " : "I/O error: ") + ex.getMessage(), header);
			return;
		}
		if (inline && request.type() == Nbd.CMD_WRITE) {
			this.replies.okLater(request);
			return;
		}
		this.replies.ok(request, header);
	}

	private void read(BlockDevice device, NbdCodec.Request request, ByteBuffer header)
			throws IOException, InterruptedException {
		int length = (int) request.length();
		long offset = request.offset();
		List<Extent> extents = null;
		if (this.structured && !request.hasFlag(Nbd.CMD_FLAG_DF) && length >= 65536) {
			extents = device.allocation(offset, length);
			if (extents.size() == 1 && !extents.get(0).zero() && extents.get(0).length() >= length) {
				extents = null;
			}
		}
		ByteBuffer data = this.buffers.acquire(length);
		try {
			// An error here is replied to before any data is sent, so a simple reply
			// works too.
			device.read(offset, data);
			data.flip();
			if (extents != null && hasHole(extents)) {
				this.replies.sparse(request, data, extents);
				return;
			}
			this.replies.data(request, data, header);
		}
		finally {
			this.buffers.release(data);
		}
	}

	private static boolean hasHole(List<Extent> extents) {
		for (Extent extent : extents) {
			if (extent.zero()) {
				return true;
			}
		}
		return false;
	}

}
