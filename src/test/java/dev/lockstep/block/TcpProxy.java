package dev.lockstep.block;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP proxy that a test can sever (every connection is cut and new ones are
 * refused) and restore, to break the link between two nodes while both keep running;
 * freeze, to make a peer hang; or hold back what the server sends after a given number of
 * bytes, to stop a reply halfway.
 */
public final class TcpProxy implements AutoCloseable {

	private final ServerSocket server;

	private final int targetPort;

	private final List<Socket> sockets = new CopyOnWriteArrayList<>();

	private volatile boolean severed;

	private volatile boolean frozen;

	/** How many more bytes may go from the target to clients; negative for no limit. */
	private final AtomicLong toClients = new AtomicLong(-1);

	/**
	 * Listens on a loopback port (0 for any free one) and forwards to a loopback port.
	 */
	public TcpProxy(int port, int targetPort) throws IOException {
		this.server = new ServerSocket();
		this.server.setReuseAddress(true);
		this.server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
		this.targetPort = targetPort;
		Thread acceptor = new Thread(this::accept, "proxy-" + port);
		acceptor.setDaemon(true);
		acceptor.start();
	}

	private void accept() {
		while (!this.server.isClosed()) {
			try {
				Socket client = this.server.accept();
				if (this.severed) {
					client.close();
					continue;
				}
				Socket target = new Socket(InetAddress.getLoopbackAddress(), this.targetPort);
				client.setTcpNoDelay(true);
				target.setTcpNoDelay(true);
				this.sockets.add(client);
				this.sockets.add(target);
				pump(client, target, false);
				pump(target, client, true);
			}
			catch (IOException ex) {
				// closed, or the target refused
			}
		}
	}

	private void pump(Socket from, Socket to, boolean toClient) {
		Thread thread = new Thread(() -> {
			byte[] buffer = new byte[256 * 1024];
			try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
				int n;
				while (awaitThaw(from) && (n = in.read(buffer)) >= 0) {
					int sent = 0;
					while (sent < n) {
						int allowed = toClient ? allowance(n - sent, from) : n - sent;
						if (allowed < 0) {
							return;
						}
						out.write(buffer, sent, allowed);
						sent += allowed;
					}
				}
			}
			catch (IOException ex) {
				// cut
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
			finally {
				closeQuietly(from);
				closeQuietly(to);
			}
		}, "proxy-pump");
		thread.setDaemon(true);
		thread.start();
	}

	/** The port this proxy listens on. */
	public int port() {
		return this.server.getLocalPort();
	}

	/**
	 * Lets at most {@code bytes} more bytes go from the target to clients and holds back
	 * the rest until {@link #unlimit()}.
	 */
	public void limitToClients(long bytes) {
		this.toClients.set(bytes);
	}

	/** Whether every byte the last limit allowed has gone to the client. */
	public boolean limitReached() {
		return this.toClients.get() == 0;
	}

	/** Lets everything through again, including what was held back. */
	public void unlimit() {
		this.toClients.set(-1);
	}

	/**
	 * Returns how many of {@code wanted} bytes may go to the client now, waiting while
	 * none may; -1 once the socket is closed.
	 */
	private int allowance(int wanted, Socket from) throws InterruptedException {
		while (true) {
			long left = this.toClients.get();
			if (left < 0) {
				return wanted;
			}
			if (from.isClosed()) {
				return -1;
			}
			if (left == 0) {
				Thread.sleep(5);
				continue;
			}
			int allowed = (int) Math.min(left, wanted);
			if (this.toClients.compareAndSet(left, left - allowed)) {
				return allowed;
			}
		}
	}

	/** Cuts every connection and refuses new ones. */
	public void sever() {
		this.severed = true;
		for (Socket socket : this.sockets) {
			closeQuietly(socket);
		}
		this.sockets.clear();
	}

	/**
	 * Stops moving data while keeping every connection open, as a peer that hangs looks:
	 * its socket buffers fill up and its sender blocks.
	 */
	public void freeze() {
		this.frozen = true;
	}

	/** Waits while frozen; returns false once the socket is closed. */
	private boolean awaitThaw(Socket from) throws InterruptedException {
		while (this.frozen && !from.isClosed()) {
			Thread.sleep(5);
		}
		return !from.isClosed();
	}

	/** Accepts and forwards connections again. */
	public void restore() {
		this.severed = false;
	}

	@Override
	public void close() {
		sever();
		closeQuietly(this.server);
	}

	private static void closeQuietly(AutoCloseable closeable) {
		try {
			closeable.close();
		}
		catch (Exception ex) {
			// already closed
		}
	}

}
