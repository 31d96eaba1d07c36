package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import dev.lockstep.block.nbd.ChannelInput;
import dev.lockstep.block.nbd.NbdThreads;

/**
 * Opens an {@link NbdClient}'s connection: connects, runs the handshake (with STARTTLS
 * when the options ask for it) under a watchdog that closes the socket when the connect
 * timeout passes, and hands the negotiated connection to the client.
 */
final class NbdConnector {

	private static final ScheduledExecutorService timer = Executors
		.newSingleThreadScheduledExecutor(NbdThreads.factory("nbd-client-timer"));

	private NbdConnector() {
	}

	/**
	 * Connects to {@code export} on the server at {@code address}.
	 * @throws NbdException if the handshake fails, e.g. because the export does not exist
	 */
	static NbdClient connect(InetSocketAddress address, String export, NbdClient.Options options) throws IOException {
		String target = "nbd://" + address.getHostString() + ":" + address.getPort() + "/" + export;
		SocketChannel channel = open(address, options);
		ScheduledFuture<?> watchdog = watchdog(channel, options);
		try {
			ClientHandshake handshake = new ClientHandshake(channel, new ChannelInput(channel, 64 * 1024), target);
			handshake.start();
			GatheringByteChannel transport = startTls(handshake, channel, address, options);
			boolean structured = options.structuredReplies() && handshake.structuredReplies();
			int contextId = -1;
			if (structured && options.blockStatus()) {
				contextId = handshake.setMetaContext(export);
			}
			ExportInfo info = handshake.go(export, structured, contextId >= 0);
			watchdog.cancel(false);
			return new NbdClient(transport, target, handshake.input(), info, contextId, options);
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
	 * Lists the exports of the server at {@code address} with {@code NBD_OPT_LIST}, over
	 * TLS if the options ask for it.
	 */
	static List<String> listExports(InetSocketAddress address, NbdClient.Options options) throws IOException {
		String target = "nbd://" + address.getHostString() + ":" + address.getPort();
		try (SocketChannel channel = open(address, options)) {
			ScheduledFuture<?> watchdog = watchdog(channel, options);
			try {
				ClientHandshake handshake = new ClientHandshake(channel, new ChannelInput(channel, 64 * 1024), target);
				handshake.start();
				startTls(handshake, channel, address, options);
				List<String> names = handshake.list();
				handshake.abort();
				return names;
			}
			finally {
				watchdog.cancel(false);
			}
		}
	}

	/** Starts TLS if the options ask for it; returns where requests go. */
	private static GatheringByteChannel startTls(ClientHandshake handshake, SocketChannel channel,
			InetSocketAddress address, NbdClient.Options options) throws IOException {
		ClientTls tls = options.tls();
		if (tls == null) {
			return channel;
		}
		return handshake.startTls(channel, tls.engine(address.getHostString(), address.getPort()));
	}

	private static SocketChannel open(InetSocketAddress address, NbdClient.Options options) throws IOException {
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

	private static ScheduledFuture<?> watchdog(SocketChannel channel, NbdClient.Options options) {
		return timer.schedule(() -> {
			try {
				channel.close();
			}
			catch (IOException ex) {
				// Closing anyway.
			}
		}, options.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
	}

}
