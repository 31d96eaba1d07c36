package dev.lockstep.block.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.BlockDevice.Extent;
import dev.lockstep.block.Export;
import dev.lockstep.block.ExportStats;

/**
 * One client connection: the option haggling of the fixed newstyle handshake, then the
 * transmission phase served by a group of leader/follower threads (see
 * {@link NbdServer}).
 */
final class NbdConnection {

	private static final Log logger = LogFactory.getLog(NbdConnection.class);

	private static final int HANDSHAKE_FLAGS = Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES;

	/**
	 * Largest option data the server reads into memory; longer known options are refused.
	 */
	private static final int MAX_OPTION_DATA = 64 * 1024;

	private static final int META_CONTEXT_ID = 1;

	private static final int MAX_DESCRIPTORS = 2048;

	private static final int PREFERRED_BLOCK = 4096;

	private static final int UNIT = 4096;

	private final NbdServer server;

	private final SocketChannel channel;

	private final SocketAddress remote;

	private final ChannelInput input;

	private final ReentrantLock readLock = new ReentrantLock();

	private final ReentrantLock writeLock = new ReentrantLock();

	private final Semaphore budget = new Semaphore(NbdServer.MAX_REQUEST / UNIT);

	private final AtomicInteger threads = new AtomicInteger();

	private final AtomicInteger readers = new AtomicInteger();

	private final AtomicBoolean closed = new AtomicBoolean();

	private final AtomicBoolean counted = new AtomicBoolean();

	private volatile boolean stopReading;

	/** Whether the client asked to disconnect ({@code NBD_CMD_DISC}). */
	private volatile boolean disconnectRequested;

	/**
	 * Short replies of an in-order connection not sent yet. While the client's next
	 * request is already arriving they are collected and then sent with one write, before
	 * the connection's thread would wait for more input; the client (the primary's peer
	 * connection) then takes them in one go too. Touched only by the connection's one
	 * thread; null for other connections.
	 */
	private ByteBuffer deferredReplies;

	private InputStream socketInput;

	/**
	 * Whether the last request was a large WRITE. The next header is then read without
	 * read-ahead, so that its data goes from the socket straight into its buffer instead
	 * of through the read-ahead buffer. Guarded by the read lock.
	 */
	private boolean largeWrites;

	private volatile Future<?> handshakeTimeout;

	private volatile Export export;

	/**
	 * What to tell the selected export when this client is gone; set once, when it is
	 * selected.
	 */
	private volatile Export.ClientListener.Departure departure;

	private boolean structured;

	private String metaContextExport;

	private int transmissionFlags;

	NbdConnection(NbdServer server, SocketChannel channel) throws IOException {
		this.server = server;
		this.channel = channel;
		this.remote = channel.getRemoteAddress();
		this.input = new ChannelInput(channel, 128 * 1024);
	}

	Export export() {
		return this.export;
	}

	void handshakeTimeout(Future<?> timeout) {
		this.handshakeTimeout = timeout;
	}

	void handshakeTimedOut() {
		if (this.export == null && !this.closed.get()) {
			logger.info("NBD client " + this.remote + " did not finish the handshake in time; closing");
			close();
		}
	}

	/** Runs the handshake, then serves requests as the connection's first thread. */
	void run() {
		this.threads.incrementAndGet();
		try {
			this.server.scheduleHandshakeTimeout(this);
			if (!handshake()) {
				return;
			}
			Future<?> timeout = this.handshakeTimeout;
			if (timeout != null) {
				timeout.cancel(false);
			}
			logger.debug("NBD client " + this.remote + " selected export " + this.export.name());
		}
		catch (NbdProtocolException ex) {
			logger
				.warn("NBD client " + this.remote + " violated the protocol during the handshake: " + ex.getMessage());
			this.threads.decrementAndGet();
			close();
			return;
		}
		catch (IOException | RuntimeException ex) {
			logger.debug("NBD handshake with " + this.remote + " ended: " + ex);
			this.threads.decrementAndGet();
			close();
			return;
		}
		serve();
	}

	// Handshake

	/** Returns true once an export is selected, false if the client went away. */
	private boolean handshake() throws IOException {
		ByteBuffer greeting = ByteBuffer.allocate(18);
		NbdCodec.encodeGreeting(greeting, HANDSHAKE_FLAGS);
		writeAll(greeting.flip());
		int clientFlags = this.input.require(4).getInt();
		if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
			throw new NbdProtocolException("Unknown client flags 0x" + Integer.toHexString(clientFlags));
		}
		boolean noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
		while (true) {
			NbdCodec.OptionHeader header = NbdCodec.decodeOptionHeader(this.input.require(Nbd.OPTION_HEADER_SIZE));
			int option = header.option();
			switch (option) {
				case Nbd.OPT_EXPORT_NAME -> {
					if (header.length() > Nbd.MAX_STRING_LENGTH) {
						throw new NbdProtocolException("Export name longer than " + Nbd.MAX_STRING_LENGTH + " bytes");
					}
					String name = utf8(this.input.readBytes((int) header.length()));
					Optional<Export> found = this.server.registry().find(name).filter(this::admitted);
					if (found.isEmpty()) {
						// The protocol allows no error reply here: the session ends.
						logger.info("NBD client " + this.remote + " asked for unknown export '" + name + "'");
						close();
						return false;
					}
					select(found.get());
					ByteBuffer reply = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
					NbdCodec.encodeExportNameReply(reply, found.get().device().size(), this.transmissionFlags,
							!noZeroes);
					writeAll(reply.flip());
					return true;
				}
				case Nbd.OPT_GO, Nbd.OPT_INFO -> {
					if (infoOrGo(header)) {
						return true;
					}
				}
				case Nbd.OPT_LIST -> {
					if (emptyOption(header)) {
						for (Export each : this.server.registry().list()) {
							ByteBuffer data = ByteBuffer.allocate(4 + NbdCodec.utf8(each.name()).length);
							NbdCodec.encodeServerReply(data, each.name());
							optionReply(option, Nbd.REP_SERVER, data.flip());
						}
						optionReply(option, Nbd.REP_ACK, null);
					}
				}
				case Nbd.OPT_ABORT -> {
					this.input.skip(header.length());
					try {
						optionReply(option, Nbd.REP_ACK, null);
					}
					catch (IOException ex) {
						// The client may close without waiting for the reply.
					}
					close();
					return false;
				}
				case Nbd.OPT_STRUCTURED_REPLY -> {
					if (emptyOption(header)) {
						this.structured = true;
						optionReply(option, Nbd.REP_ACK, null);
					}
				}
				case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(header);
				default -> {
					this.input.skip(header.length());
					optionError(option, Nbd.REP_ERR_UNSUP, "Option " + option + " is not supported");
				}
			}
		}
	}

	private boolean infoOrGo(NbdCodec.OptionHeader header) throws IOException {
		int option = header.option();
		ByteBuffer data = optionData(header);
		if (data == null) {
			return false;
		}
		NbdCodec.InfoRequest request;
		try {
			request = NbdCodec.decodeInfoRequest(data);
		}
		catch (NbdProtocolException ex) {
			optionError(option, Nbd.REP_ERR_INVALID, ex.getMessage());
			return false;
		}
		Optional<Export> found = this.server.registry().find(request.exportName());
		if (found.isEmpty()) {
			optionError(option, Nbd.REP_ERR_UNKNOWN, "Export '" + request.exportName() + "' does not exist");
			return false;
		}
		Export selected = found.get();
		if (!admitted(selected)) {
			optionError(option, Nbd.REP_ERR_POLICY,
					"Export '" + request.exportName() + "' accepts only the configured peer");
			return false;
		}
		int flags = transmissionFlags(selected);
		ByteBuffer info = ByteBuffer.allocate(14);
		NbdCodec.encodeInfoExport(info, selected.device().size(), flags);
		optionReply(option, Nbd.REP_INFO, info.flip());
		if (request.infos().contains(Nbd.INFO_NAME)) {
			info = ByteBuffer.allocate(2 + NbdCodec.utf8(selected.name()).length);
			NbdCodec.encodeInfoString(info, Nbd.INFO_NAME, selected.name());
			optionReply(option, Nbd.REP_INFO, info.flip());
		}
		if (request.infos().contains(Nbd.INFO_DESCRIPTION) && !selected.description().isEmpty()) {
			info = ByteBuffer.allocate(2 + NbdCodec.utf8(selected.description()).length);
			NbdCodec.encodeInfoString(info, Nbd.INFO_DESCRIPTION, selected.description());
			optionReply(option, Nbd.REP_INFO, info.flip());
		}
		info = ByteBuffer.allocate(14);
		NbdCodec.encodeInfoBlockSize(info, 1, PREFERRED_BLOCK, NbdServer.MAX_REQUEST);
		optionReply(option, Nbd.REP_INFO, info.flip());
		optionReply(option, Nbd.REP_ACK, null);
		if (option == Nbd.OPT_GO) {
			select(selected);
			return true;
		}
		return false;
	}

	private void metaContext(NbdCodec.OptionHeader header) throws IOException {
		int option = header.option();
		ByteBuffer data = optionData(header);
		if (data == null) {
			return;
		}
		if (!this.structured) {
			optionError(option, Nbd.REP_ERR_INVALID, "Structured replies must be negotiated first");
			return;
		}
		NbdCodec.MetaContextRequest request;
		try {
			request = NbdCodec.decodeMetaContextRequest(data);
		}
		catch (NbdProtocolException ex) {
			optionError(option, Nbd.REP_ERR_INVALID, ex.getMessage());
			return;
		}
		if (this.server.registry().find(request.exportName()).isEmpty()) {
			optionError(option, Nbd.REP_ERR_UNKNOWN, "Export '" + request.exportName() + "' does not exist");
			return;
		}
		boolean list = option == Nbd.OPT_LIST_META_CONTEXT;
		boolean match = (list && request.queries().isEmpty()) || request.queries()
			.stream()
			.anyMatch((query) -> query.equals(Nbd.META_CONTEXT_BASE_ALLOCATION) || (list && query.equals("base:")));
		if (match) {
			ByteBuffer reply = ByteBuffer.allocate(4 + Nbd.META_CONTEXT_BASE_ALLOCATION.length());
			NbdCodec.encodeMetaContextReply(reply, list ? 0 : META_CONTEXT_ID, Nbd.META_CONTEXT_BASE_ALLOCATION);
			optionReply(option, Nbd.REP_META_CONTEXT, reply.flip());
		}
		if (!list) {
			this.metaContextExport = match ? request.exportName() : null;
		}
		optionReply(option, Nbd.REP_ACK, null);
	}

	/**
	 * Reads bounded option data, or skips it and replies with an error (returning null).
	 */
	private ByteBuffer optionData(NbdCodec.OptionHeader header) throws IOException {
		if (header.length() > MAX_OPTION_DATA) {
			this.input.skip(header.length());
			optionError(header.option(), Nbd.REP_ERR_TOO_BIG, "Option data too long");
			return null;
		}
		return this.input.readBytes((int) header.length());
	}

	private boolean emptyOption(NbdCodec.OptionHeader header) throws IOException {
		if (header.length() != 0) {
			this.input.skip(header.length());
			optionError(header.option(), Nbd.REP_ERR_INVALID, "Option takes no data");
			return false;
		}
		return true;
	}

	private void select(Export selected) {
		if (this.metaContextExport != null
				&& this.server.registry().find(this.metaContextExport).orElse(null) != selected) {
			// Meta contexts were negotiated for another export.
			this.metaContextExport = null;
		}
		this.transmissionFlags = transmissionFlags(selected);
		this.export = selected;
		if (this.departure == null) {
			// Set before counted, so that whoever uncounts the client finds it.
			this.departure = selected.clientArrived(this::close);
			selected.stats().clientConnected();
			this.counted.set(true);
			if (this.closed.get() && this.counted.compareAndSet(true, false)) {
				selected.stats().clientDisconnected();
				this.departure.left(this.disconnectRequested);
			}
		}
	}

	private int transmissionFlags(Export selected) {
		int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_CAN_MULTI_CONN;
		if (selected.readOnly()) {
			flags |= Nbd.FLAG_READ_ONLY;
		}
		else {
			flags |= Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES;
		}
		if (this.structured) {
			flags |= Nbd.FLAG_SEND_DF;
		}
		return flags;
	}

	private void optionReply(int option, int type, ByteBuffer data) throws IOException {
		ByteBuffer header = ByteBuffer.allocate(Nbd.OPTION_REPLY_HEADER_SIZE);
		NbdCodec.encodeOptionReplyHeader(header, option, type, (data != null) ? data.remaining() : 0);
		header.flip();
		if (data != null) {
			writeAll(header, data);
		}
		else {
			writeAll(header);
		}
	}

	private void optionError(int option, int type, String message) throws IOException {
		optionReply(option, type, ByteBuffer.wrap(NbdCodec.utf8(message)));
	}

	// Transmission

	/** The leader/follower loop: read one request, then process and reply to it. */
	private void serve() {
		ByteBuffer header = ByteBuffer.allocateDirect(64);
		try {
			if (this.export.inOrder()) {
				this.socketInput = this.channel.socket().getInputStream();
				this.deferredReplies = ByteBuffer.allocateDirect(DEFERRED_REPLIES);
			}
			while (!this.stopReading) {
				if (holdsReplies() && !moreInputArriving()) {
					sendDeferredReplies();
				}
				Work work;
				this.readers.incrementAndGet();
				this.readLock.lock();
				try {
					if (this.stopReading) {
						break;
					}
					work = readRequest();
				}
				finally {
					this.readLock.unlock();
					this.readers.decrementAndGet();
				}
				if (work == null) {
					if (holdsReplies()) {
						sendDeferredReplies();
					}
					break;
				}
				if (this.readers.get() == 0) {
					addThread();
				}
				try {
					process(work, header);
				}
				finally {
					work.release();
				}
			}
		}
		catch (NbdProtocolException ex) {
			logger.warn("NBD client " + this.remote + " violated the protocol: " + ex.getMessage() + "; closing");
			close();
		}
		catch (EOFException ex) {
			logger.debug("NBD client " + this.remote + " disconnected");
			close();
		}
		catch (IOException ex) {
			if (!this.closed.get()) {
				logger.debug("NBD connection " + this.remote + " failed: " + ex);
			}
			close();
		}
		catch (InterruptedException ex) {
			close();
		}
		catch (RuntimeException ex) {
			logger.error("NBD connection " + this.remote + " failed", ex);
			close();
		}
		finally {
			this.stopReading = true;
			if (this.threads.decrementAndGet() == 0) {
				close();
			}
		}
	}

	/**
	 * Room for the deferred replies of an in-order connection: some 200 header-only
	 * replies.
	 */
	private static final int DEFERRED_REPLIES = 4096;

	/** Replies of at most this many bytes may be deferred. */
	private static final int DEFERRABLE_REPLY = 64;

	/** Whether this in-order connection holds back replies it has not sent yet. */
	private boolean holdsReplies() {
		return this.deferredReplies != null && this.deferredReplies.position() > 0;
	}

	/**
	 * Whether the client's next request has begun to arrive, so reading it will not wait
	 * long.
	 */
	private boolean moreInputArriving() throws IOException {
		return this.input.buffered() > 0 || this.socketInput.available() > 0;
	}

	private void sendDeferredReplies() throws IOException {
		ByteBuffer deferred = this.deferredReplies.flip();
		try {
			writeLockedNow(deferred);
		}
		finally {
			deferred.clear();
		}
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

	/** WRITEs of this size or more make the next header be read without read-ahead. */
	private static final int LARGE_WRITE = 64 * 1024;

	/**
	 * Reads the next request and, for WRITE, its data. Returns null on DISC. Data of
	 * requests that will be refused is read and discarded in bounded pieces so the stream
	 * stays in step.
	 */
	private Work readRequest() throws IOException, InterruptedException {
		ByteBuffer header = this.largeWrites ? this.input.requireExactly(Nbd.REQUEST_HEADER_SIZE)
				: this.input.require(Nbd.REQUEST_HEADER_SIZE);
		NbdCodec.Request request = NbdCodec.decodeRequest(header);
		this.largeWrites = request.type() == Nbd.CMD_WRITE && request.length() >= LARGE_WRITE;
		if (request.type() == Nbd.CMD_DISC) {
			this.disconnectRequested = true;
			this.stopReading = true;
			return null;
		}
		if (request.type() != Nbd.CMD_WRITE) {
			return new Work(request, null, 0);
		}
		int error = validate(request);
		if (error != 0) {
			this.input.skip(request.length());
			return new Work(request, null, error);
		}
		ByteBuffer data = acquire((int) request.length());
		try {
			this.input.readFully(data);
		}
		catch (IOException | RuntimeException ex) {
			releaseBuffer(data);
			throw ex;
		}
		return new Work(request, data.flip(), 0);
	}

	/** Returns the error to reply with for an invalid request, or 0. */
	private int validate(NbdCodec.Request request) {
		Export current = this.export;
		if (current.removed()) {
			return Nbd.ESHUTDOWN;
		}
		long size = current.device().size();
		long offset = request.offset();
		long length = request.length();
		boolean beyond = offset < 0 || offset > size || length > size - offset;
		int type = request.type();
		int allowed = switch (type) {
			case Nbd.CMD_READ -> Nbd.CMD_FLAG_FUA | (this.structured ? Nbd.CMD_FLAG_DF : 0);
			case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM -> Nbd.CMD_FLAG_FUA;
			case Nbd.CMD_WRITE_ZEROES -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE;
			case Nbd.CMD_BLOCK_STATUS -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_REQ_ONE;
			default -> -1;
		};
		if (allowed == -1 || (request.flags() & ~allowed) != 0) {
			return Nbd.EINVAL;
		}
		switch (type) {
			case Nbd.CMD_READ -> {
				return (length > NbdServer.MAX_REQUEST || beyond) ? Nbd.EINVAL : 0;
			}
			case Nbd.CMD_WRITE, Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES -> {
				if (type == Nbd.CMD_WRITE && length > NbdServer.MAX_REQUEST) {
					return Nbd.EINVAL;
				}
				if (current.readOnly()) {
					return Nbd.EPERM;
				}
				return beyond ? Nbd.ENOSPC : 0;
			}
			case Nbd.CMD_BLOCK_STATUS -> {
				if (!this.structured || this.metaContextExport == null) {
					return Nbd.EINVAL;
				}
				return (beyond || length == 0) ? Nbd.EINVAL : 0;
			}
			default -> {
				return 0;
			}
		}
	}

	private void process(Work work, ByteBuffer header) throws IOException, InterruptedException {
		NbdCodec.Request request = work.request;
		ExportStats stats = this.export.stats();
		int error = (work.error != 0) ? work.error : validate(request);
		if (error != 0) {
			stats.recordError();
			replyError(request, error, message(request, error), header);
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
					device.write(request.offset(), work.data, fua);
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
					blockStatus(device, request, header);
					stats.recordBlockStatus();
					return;
				}
				default -> throw new IllegalStateException("unreachable");
			}
		}
		catch (IOException ex) {
			if (ex instanceof ConnectionLostException || !this.channel.isOpen()) {
				throw ex;
			}
			stats.recordError();
			logger.warn("I/O error on export " + this.export.name() + " (" + Nbd.commandName(request.type()) + " at "
					+ request.offset() + "+" + request.length() + "): " + ex.getMessage());
			int failure = Nbd.errorFor(ex);
			replyError(request, failure, ((failure == Nbd.ENOSPC) ? "Out of space: " : "I/O error: ") + ex.getMessage(),
					header);
			return;
		}
		replyOk(request, header);
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
		ByteBuffer data = acquire(length);
		try {
			// An error here is replied to before any data is sent, so a simple reply
			// works too.
			device.read(offset, data);
			data.flip();
			if (extents != null && hasHole(extents)) {
				sendSparse(request, data, extents);
				return;
			}
			header.clear();
			if (this.structured) {
				NbdCodec.encodeChunkHeader(header, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, request.handle(),
						8 + length);
				header.putLong(offset);
			}
			else {
				NbdCodec.encodeSimpleReply(header, 0, request.handle());
			}
			writeLocked(header.flip(), data);
		}
		finally {
			releaseBuffer(data);
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

	/**
	 * Sends a READ reply as data and hole chunks. Extents may cover less than the
	 * request.
	 */
	private void sendSparse(NbdCodec.Request request, ByteBuffer data, List<Extent> extents) throws IOException {
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
		writeLocked(buffers.toArray(new ByteBuffer[0]));
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

	private void blockStatus(BlockDevice device, NbdCodec.Request request, ByteBuffer header) throws IOException {
		List<Extent> extents = device.allocation(request.offset(), request.length());
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
		NbdCodec.encodeBlockStatusStart(payload, META_CONTEXT_ID);
		for (long[] descriptor : descriptors) {
			NbdCodec.encodeBlockDescriptor(payload, (int) descriptor[0], (int) descriptor[1]);
		}
		writeLocked(payload.flip());
	}

	private void replyOk(NbdCodec.Request request, ByteBuffer header) throws IOException {
		header.clear();
		if (this.structured) {
			NbdCodec.encodeChunkHeader(header, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.handle(), 0);
		}
		else {
			NbdCodec.encodeSimpleReply(header, 0, request.handle());
		}
		writeLocked(header.flip());
	}

	private void replyError(NbdCodec.Request request, int error, String message, ByteBuffer header) throws IOException {
		if (this.structured) {
			ByteBuffer chunk = ByteBuffer
				.allocate(Nbd.STRUCTURED_REPLY_HEADER_SIZE + NbdCodec.errorLength(message, false));
			NbdCodec.encodeChunkHeader(chunk, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, request.handle(),
					NbdCodec.errorLength(message, false));
			NbdCodec.encodeError(chunk, error, message, -1);
			writeLocked(chunk.flip());
		}
		else {
			header.clear();
			NbdCodec.encodeSimpleReply(header, error, request.handle());
			writeLocked(header.flip());
		}
	}

	private String message(NbdCodec.Request request, int error) {
		String command = Nbd.commandName(request.type());
		long size = this.export.device().size();
		return switch (error) {
			case Nbd.EPERM -> "Export " + this.export.name() + " is read-only";
			case Nbd.ESHUTDOWN -> "Export " + this.export.name() + " is being removed";
			case Nbd.ENOSPC -> command + " at " + request.offset() + "+" + request.length()
					+ " goes beyond the end of the export (" + size + " bytes)";
			default -> {
				if ((request.type() == Nbd.CMD_READ || request.type() == Nbd.CMD_WRITE)
						&& request.length() > NbdServer.MAX_REQUEST) {
					yield command + " of " + request.length() + " bytes exceeds the maximum of "
							+ NbdServer.MAX_REQUEST;
				}
				if (request.offset() < 0 || request.offset() > size || request.length() > size - request.offset()) {
					yield command + " at " + request.offset() + "+" + request.length()
							+ " goes beyond the end of the export (" + size + " bytes)";
				}
				yield "Invalid " + command + " request (flags 0x" + Integer.toHexString(request.flags()) + ")";
			}
		};
	}

	// Buffers and output

	private ByteBuffer acquire(int length) throws InterruptedException {
		int units = (int) Math.max(1, (length + (long) UNIT - 1) / UNIT);
		this.budget.acquire(units);
		try {
			return this.server.buffers().acquire(length);
		}
		catch (InterruptedException | RuntimeException ex) {
			this.budget.release(units);
			throw ex;
		}
	}

	private void releaseBuffer(ByteBuffer buffer) {
		int units = (int) Math.max(1, (buffer.limit() + (long) UNIT - 1) / UNIT);
		this.server.buffers().release(buffer);
		this.budget.release(units);
	}

	private void writeLocked(ByteBuffer... buffers) throws IOException {
		ByteBuffer deferred = this.deferredReplies;
		if (deferred != null) {
			long length = 0;
			for (ByteBuffer buffer : buffers) {
				length += buffer.remaining();
			}
			if (length <= DEFERRABLE_REPLY) {
				if (deferred.remaining() < length) {
					sendDeferredReplies();
				}
				for (ByteBuffer buffer : buffers) {
					deferred.put(buffer);
				}
				return;
			}
			if (holdsReplies()) {
				sendDeferredReplies();
			}
		}
		writeLockedNow(buffers);
	}

	private void writeLockedNow(ByteBuffer... buffers) throws IOException {
		this.writeLock.lock();
		try {
			writeAll(buffers);
		}
		catch (IOException ex) {
			throw new ConnectionLostException(ex);
		}
		finally {
			this.writeLock.unlock();
		}
	}

	private void writeAll(ByteBuffer... buffers) throws IOException {
		ByteBuffer last = buffers[buffers.length - 1];
		if (buffers.length == 1) {
			while (last.hasRemaining()) {
				this.channel.write(last);
			}
			return;
		}
		while (last.hasRemaining()) {
			this.channel.write(buffers);
		}
	}

	/** Closes the socket; running threads notice and end. */
	void close() {
		if (this.closed.compareAndSet(false, true)) {
			this.stopReading = true;
			try {
				this.channel.close();
			}
			catch (IOException ex) {
				// Closing anyway.
			}
			Future<?> timeout = this.handshakeTimeout;
			if (timeout != null) {
				timeout.cancel(false);
			}
			Export current = this.export;
			if (current != null && this.counted.compareAndSet(true, false)) {
				current.stats().clientDisconnected();
				this.departure.left(this.disconnectRequested);
			}
			this.server.closed(this);
		}
	}

	private boolean admitted(Export candidate) {
		boolean admitted = !(this.remote instanceof InetSocketAddress address)
				|| candidate.admits(address.getAddress());
		if (!admitted) {
			logger.warn("Refused NBD client " + this.remote + " for export " + candidate.name()
					+ ": it accepts only the configured peer");
		}
		return admitted;
	}

	private static String utf8(ByteBuffer data) {
		byte[] bytes = new byte[data.remaining()];
		data.get(bytes);
		return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
	}

	/** A reply could not be sent: the connection is gone, not the device. */
	private static final class ConnectionLostException extends IOException {

		private static final long serialVersionUID = 1L;

		ConnectionLostException(IOException cause) {
			super(cause.getMessage(), cause);
		}

	}

	/**
	 * A request read from the socket, with its WRITE data and any error found while
	 * reading.
	 */
	private final class Work {

		private final NbdCodec.Request request;

		private final ByteBuffer data;

		private final int error;

		Work(NbdCodec.Request request, ByteBuffer data, int error) {
			this.request = request;
			this.data = data;
			this.error = error;
		}

		void release() {
			if (this.data != null) {
				releaseBuffer(this.data);
			}
		}

	}

}
