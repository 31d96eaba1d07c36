package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.DiskEngine;
import dev.lockstep.block.Export;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.client.NbdClient;
import dev.lockstep.block.nbd.client.NbdException;
import dev.lockstep.block.replicated.primary.RemoteDisk;

/**
 * {@link BlockEngineAccess} on Lockstep's own disk engine: its disks and export registry,
 * and its pipelined NBD client for the peer.
 */
final class NbdEngineAccess implements BlockEngineAccess {

	private final DiskEngine engine;

	private final NbdClient.Options options;

	private final @Nullable URI peer;

	private final Set<String> allowedPeers;

	/**
	 * Creates access to the engine.
	 * @param engine the disk engine
	 * @param options the NBD client's options
	 * @param peer the configured peer, or {@code null}; when set, the exports this
	 * participant adds (the secondary's {@code <disk>.replica} exports) accept
	 * connections only from the peer's addresses
	 * @param allowedPeers the names a client's certificate must carry for the exports
	 * this participant adds; empty for no certificate check
	 */
	NbdEngineAccess(DiskEngine engine, NbdClient.Options options, @Nullable URI peer, List<String> allowedPeers) {
		this.engine = engine;
		this.options = options;
		this.peer = peer;
		this.allowedPeers = Set.copyOf(allowedPeers);
	}

	@Override
	public List<EngineDisk> disks() {
		return this.engine.disks()
			.stream()
			.map((disk) -> new EngineDisk(disk.name(), disk.path(), disk.image()))
			.toList();
	}

	@Override
	public void replaceDevice(String export, BlockDevice device) {
		this.engine.exports().swapDevice(export, (current) -> device);
	}

	@Override
	public void addExport(String name, BlockDevice device, boolean readOnly, boolean inOrder, String description,
			Export.@Nullable ClientListener clients) {
		Export export = this.engine.exports().add(name, device, readOnly, description);
		if (inOrder) {
			export.processInOrder();
		}
		if (clients != null) {
			export.listen(clients);
		}
		if (this.peer != null) {
			String host = this.peer.getHost();
			export.restrictClients((address) -> isPeer(host, address));
		}
		export.restrictPeerNames(this.allowedPeers);
	}

	/**
	 * Resolves the peer on each connection, so that a peer whose address changes is still
	 * recognised.
	 */
	private static boolean isPeer(String host, InetAddress address) {
		try {
			for (InetAddress candidate : InetAddress.getAllByName(host)) {
				if (candidate.equals(address)) {
					return true;
				}
			}
			return false;
		}
		catch (UnknownHostException ex) {
			return false;
		}
	}

	@Override
	public void removeExport(String name) {
		this.engine.exports().remove(name);
	}

	@Override
	public RemoteDisk connect(URI peer, String export) throws IOException {
		int port = (peer.getPort() != -1) ? peer.getPort() : Nbd.DEFAULT_PORT;
		InetSocketAddress address = new InetSocketAddress(peer.getHost(), port);
		NbdClient.Options connection = "nbds".equalsIgnoreCase(peer.getScheme()) ? this.options
				: this.options.withTls(null);
		if ("nbds".equalsIgnoreCase(peer.getScheme()) && connection.tls() == null) {
			throw new NbdException("lockstep.block.peer is " + peer
					+ ", but no TLS material is configured: set lockstep.block.nbd.tls.bundle");
		}
		List<String> exports = NbdClient.listExports(address, connection);
		if (!exports.contains(export)) {
			throw new NoSuchExportException("the peer serves " + exports + ", not '" + export + "'");
		}
		return new Connection(NbdClient.connect(address, export, connection));
	}

	/** A pipelined NBD connection to one export of the peer. */
	private static final class Connection implements RemoteDisk {

		private final NbdClient client;

		Connection(NbdClient client) {
			this.client = client;
		}

		@Override
		public long size() {
			return this.client.size();
		}

		@Override
		public String description() {
			return this.client.info().description();
		}

		@Override
		public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
			return this.client.read(offset, dst);
		}

		@Override
		public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
			return this.client.write(offset, src, fua);
		}

		@Override
		public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fua) {
			return this.client.writeZeroes(offset, length, mayTrim, fua);
		}

		@Override
		public CompletableFuture<Void> flush() {
			return this.client.flush();
		}

		@Override
		public void close() {
			this.client.close();
		}

		@Override
		public void abort(String reason) {
			this.client.abort(reason);
		}

		@Override
		public String toString() {
			return this.client.target();
		}

	}

}
