package dev.lockstep.block.replication;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy that a test can sever (every connection is cut and new
 * ones are refused) and restore, to break the link between two nodes while both
 * keep running.
 */
final class TcpProxy implements AutoCloseable {

	private final ServerSocket server;

	private final int targetPort;

	private final List<Socket> sockets = new CopyOnWriteArrayList<>();

	private volatile boolean severed;

	private volatile boolean frozen;

	TcpProxy(int port, int targetPort) throws IOException {
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
				pump(client, target);
				pump(target, client);
			}
			catch (IOException ex) {
				// closed, or the target refused
			}
		}
	}

	private void pump(Socket from, Socket to) {
		Thread thread = new Thread(() -> {
			byte[] buffer = new byte[256 * 1024];
			try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
				int n;
				while (awaitThaw(from) && (n = in.read(buffer)) >= 0) {
					out.write(buffer, 0, n);
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

	/** Cuts every connection and refuses new ones. */
	void sever() {
		this.severed = true;
		for (Socket socket : this.sockets) {
			closeQuietly(socket);
		}
		this.sockets.clear();
	}

	/**
	 * Stops moving data while keeping every connection open, as a peer that hangs
	 * looks: its socket buffers fill up and its sender blocks.
	 */
	void freeze() {
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
	void restore() {
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
