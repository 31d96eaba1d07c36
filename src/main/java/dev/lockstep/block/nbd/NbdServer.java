package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.block.Export;
import dev.lockstep.block.ExportRegistry;

/**
 * An NBD server (fixed newstyle handshake, structured replies, base:allocation) that
 * serves the exports of an {@link ExportRegistry}.
 *
 * <p>
 * Threading: each connection is served by up to {@link Settings#threadsPerConnection()}
 * threads in a leader/follower pattern. One thread at a time reads the next request (with
 * its WRITE data) from the socket; it then processes that request and sends the reply
 * itself, under the connection's write lock, while another thread reads the next request.
 * Threads are added to a connection only while all of them are busy, so a connection with
 * a deep queue of requests is served in parallel and replied out of order, and one slow
 * client only ever blocks its own threads.
 */
public final class NbdServer implements AutoCloseable {

	/**
	 * The largest READ or WRITE the server accepts (advertised as the maximum payload in
	 * {@code NBD_INFO_BLOCK_SIZE}): 64 MiB, as nbdkit accepts. The buffer budget must
	 * hold at least one request of this size.
	 */
	public static final int MAX_REQUEST = 64 * 1024 * 1024;

	private static final Log logger = LogFactory.getLog(NbdServer.class);

	private final ExportRegistry registry;

	private final Settings settings;

	private final BufferPool buffers;

	private final ServerTls tls;

	private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();

	private volatile @Nullable ServerSocketChannel serverChannel;

	private volatile @Nullable ThreadPoolExecutor workers;

	private volatile @Nullable ScheduledExecutorService timer;

	private volatile @Nullable Thread acceptor;

	private volatile boolean running;

	public NbdServer(ExportRegistry registry, Settings settings) {
		this(registry, settings, ServerTls.OFF);
	}

	public NbdServer(ExportRegistry registry, Settings settings, ServerTls tls) {
		this.registry = registry;
		this.settings = settings;
		this.tls = tls;
		this.buffers = new BufferPool(settings.bufferBudget(), MAX_REQUEST);
		registry.onRemoval(this::disconnect);
	}

	/**
	 * Binds the listening socket and starts accepting clients.
	 * @throws IOException if the address cannot be bound
	 */
	public synchronized void start() throws IOException {
		if (this.running) {
			return;
		}
		InetSocketAddress address = new InetSocketAddress(this.settings.bind(), this.settings.port());
		ServerSocketChannel channel = ServerSocketChannel.open();
		try {
			channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
			channel.bind(address, 128);
		}
		catch (IOException ex) {
			channel.close();
			String reason = (ex instanceof BindException) ? "is the port in use?" : ex.getMessage();
			throw new IOException("Cannot bind the NBD server to " + address + ": " + reason, ex);
		}
		this.serverChannel = channel;
		int maxThreads = this.settings.maxConnections() * this.settings.threadsPerConnection();
		this.workers = new ThreadPoolExecutor(0, maxThreads, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
				NbdThreads.factory("nbd-worker"));
		this.timer = Executors.newSingleThreadScheduledExecutor(NbdThreads.factory("nbd-timer"));
		this.running = true;
		Thread thread = NbdThreads.factory("nbd-accept").newThread(this::acceptLoop);
		this.acceptor = thread;
		thread.start();
		logger.info("NBD server listening on " + address().getHostString() + ":" + port());
	}

	/** The bound address, with the actual port when started on port 0. */
	public InetSocketAddress address() {
		ServerSocketChannel channel = this.serverChannel;
		if (channel == null) {
			throw new IllegalStateException("NBD server is not started");
		}
		try {
			return (InetSocketAddress) channel.getLocalAddress();
		}
		catch (IOException ex) {
			throw new IllegalStateException("NBD server socket is closed", ex);
		}
	}

	/** The port the server listens on (the actual one when configured as 0). */
	public int port() {
		return address().getPort();
	}

	public boolean isRunning() {
		return this.running;
	}

	/** The number of open client connections. */
	public int connectionCount() {
		return this.connections.size();
	}

	ExportRegistry registry() {
		return this.registry;
	}

	Settings settings() {
		return this.settings;
	}

	ServerTls tls() {
		return this.tls;
	}

	BufferPool buffers() {
		return this.buffers;
	}

	private void acceptLoop() {
		ServerSocketChannel channel = this.serverChannel;
		Assert.state(channel != null, "The acceptor runs once the server socket is open");
		while (this.running) {
			SocketChannel client;
			try {
				client = channel.accept();
			}
			catch (ClosedChannelException ex) {
				return;
			}
			catch (IOException ex) {
				if (this.running) {
					logger.warn("NBD accept failed", ex);
					sleepQuietly();
				}
				continue;
			}
			accept(client);
		}
	}

	private void accept(SocketChannel client) {
		try {
			client.setOption(StandardSocketOptions.TCP_NODELAY, true);
			client.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
			if (this.connections.size() >= this.settings.maxConnections()) {
				logger.warn("Refusing NBD client " + client.getRemoteAddress() + ": " + this.settings.maxConnections()
						+ " connections already open");
				client.close();
				return;
			}
			NbdConnection connection = new NbdConnection(this, client);
			this.connections.add(connection);
			if (!spawn(connection::run)) {
				connection.close();
			}
		}
		catch (IOException ex) {
			logger.debug("Could not set up NBD client connection", ex);
			closeQuietly(client);
		}
	}

	/** Runs a task on a worker thread; returns false if none is available. */
	boolean spawn(Runnable task) {
		ThreadPoolExecutor executor = this.workers;
		if (executor == null || !this.running) {
			return false;
		}
		try {
			executor.execute(task);
			return true;
		}
		catch (RejectedExecutionException ex) {
			return false;
		}
	}

	/** Closes {@code connection} unless its handshake completes within the timeout. */
	void scheduleHandshakeTimeout(NbdConnection connection) {
		Duration timeout = this.settings.handshakeTimeout();
		ScheduledExecutorService timer = this.timer;
		if (timer == null) {
			return;
		}
		try {
			connection.handshakeTimeout(
					timer.schedule(connection::handshakeTimedOut, timeout.toMillis(), TimeUnit.MILLISECONDS));
		}
		catch (RejectedExecutionException ex) {
			connection.close();
		}
	}

	void closed(NbdConnection connection) {
		this.connections.remove(connection);
	}

	private void disconnect(Export export) {
		try {
			export.quiesced(() -> {
				for (NbdConnection connection : this.connections) {
					if (connection.export() == export) {
						connection.close();
					}
				}
				return null;
			});
		}
		catch (Exception ex) {
			logger.warn("Could not disconnect clients of removed export " + export.name(), ex);
		}
	}

	/**
	 * Stops accepting clients and closes every connection. Threads are not interrupted:
	 * closing their sockets ends them.
	 */
	@Override
	public synchronized void close() {
		if (!this.running) {
			return;
		}
		this.running = false;
		closeQuietly(this.serverChannel);
		for (NbdConnection connection : this.connections) {
			connection.close();
		}
		ThreadPoolExecutor workers = this.workers;
		ScheduledExecutorService timer = this.timer;
		Thread acceptor = this.acceptor;
		Assert.state(workers != null && timer != null && acceptor != null, "A running server has its threads");
		workers.shutdown();
		timer.shutdown();
		try {
			acceptor.join(1000);
			workers.awaitTermination(5, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		logger.info("NBD server stopped");
	}

	private static void closeQuietly(java.io.@Nullable Closeable closeable) {
		try {
			if (closeable != null) {
				closeable.close();
			}
		}
		catch (IOException ex) {
			// Closing anyway.
		}
	}

	private static void sleepQuietly() {
		try {
			Thread.sleep(100);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	/**
	 * Server settings.
	 *
	 * @param bind the address to listen on
	 * @param port the port, 0 for an ephemeral one
	 * @param maxConnections the most client connections at once
	 * @param threadsPerConnection the most requests processed at once per connection
	 * @param bufferBudget the most bytes of request and reply data held at once, all
	 * connections together; at least {@link #MAX_REQUEST}
	 * @param handshakeTimeout how long a client may take to select an export
	 */
	public record Settings(String bind, int port, int maxConnections, int threadsPerConnection, long bufferBudget,
			Duration handshakeTimeout) {

		public Settings {
			if (port < 0 || port > 65535) {
				throw new IllegalArgumentException("port must be in [0, 65535]");
			}
			if (maxConnections < 1 || threadsPerConnection < 1) {
				throw new IllegalArgumentException("maxConnections and threadsPerConnection must be positive");
			}
			if (bufferBudget < MAX_REQUEST) {
				throw new IllegalArgumentException("bufferBudget must be at least " + MAX_REQUEST);
			}
		}

		/** Loopback, the given port, and defaults for the rest. */
		public static Settings loopback(int port) {
			return new Settings("127.0.0.1", port, 64, 16, 256L * 1024 * 1024, Duration.ofSeconds(30));
		}

	}

}
