package dev.lockstep.block.replication;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.DiskEngine;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.client.NbdClient;

/**
 * {@link BlockEngineAccess} on Lockstep's own disk engine: its disks and export
 * registry, and its pipelined NBD client for the peer.
 */
final class NbdEngineAccess implements BlockEngineAccess {

	private final DiskEngine engine;

	private final NbdClient.Options options;

	NbdEngineAccess(DiskEngine engine, NbdClient.Options options) {
		this.engine = engine;
		this.options = options;
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
	public void addExport(String name, BlockDevice device, boolean readOnly, String description) {
		this.engine.exports().add(name, device, readOnly, description);
	}

	@Override
	public void removeExport(String name) {
		this.engine.exports().remove(name);
	}

	@Override
	public RemoteDisk connect(URI peer, String export) throws IOException {
		int port = (peer.getPort() != -1) ? peer.getPort() : Nbd.DEFAULT_PORT;
		InetSocketAddress address = new InetSocketAddress(peer.getHost(), port);
		List<String> exports = NbdClient.listExports(address);
		if (!exports.contains(export)) {
			throw new NoSuchExportException("the peer serves " + exports + ", not '" + export + "'");
		}
		return new Connection(NbdClient.connect(address, export, this.options));
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
		public String toString() {
			return this.client.target();
		}

	}

}
