package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.replicated.primary.RemoteDisk;

/**
 * A disk engine for tests that keeps its exports in a map and connects to other
 * in-process engines by URL, with links that a test can sever.
 */
final class InProcessEngine implements BlockEngineAccess {

	private final Map<URI, InProcessEngine> network;

	private final URI address;

	final Map<String, BlockDevice> exports = new ConcurrentHashMap<>();

	private final Map<String, String> descriptions = new ConcurrentHashMap<>();

	private final Map<String, Export.ClientListener> listeners = new ConcurrentHashMap<>();

	private final List<EngineDisk> disks;

	/** While set, every connection from this engine fails. */
	volatile boolean severed;

	InProcessEngine(Map<URI, InProcessEngine> network, URI address, List<EngineDisk> disks) {
		this.network = network;
		this.address = address;
		this.disks = disks;
		for (EngineDisk disk : disks) {
			this.exports.put(disk.name(), disk.device());
		}
		network.put(address, this);
	}

	static EngineDisk disk(String name, Path image, BlockDevice device) {
		return new EngineDisk(name, image, device);
	}

	BlockDevice export(String name) {
		BlockDevice device = this.exports.get(name);
		if (device == null) {
			throw new IllegalArgumentException("No export " + name);
		}
		return device;
	}

	@Override
	public List<EngineDisk> disks() {
		return this.disks;
	}

	@Override
	public void replaceDevice(String export, BlockDevice device) {
		this.exports.put(export, device);
	}

	@Override
	public void addExport(String name, BlockDevice device, boolean readOnly, boolean inOrder, String description,
			Export.ClientListener clients) {
		if (this.exports.putIfAbsent(name, device) != null) {
			throw new IllegalStateException("Export '" + name + "' already exists");
		}
		this.descriptions.put(name, description);
		if (clients != null) {
			this.listeners.put(name, clients);
		}
	}

	@Override
	public void removeExport(String name) {
		this.exports.remove(name);
		this.listeners.remove(name);
	}

	@Override
	public RemoteDisk connect(URI peer, String export) throws IOException {
		InProcessEngine target = this.network.get(peer);
		if (target == null || this.severed) {
			throw new IOException("Connection refused");
		}
		BlockDevice device = target.exports.get(export);
		if (device == null) {
			throw new NoSuchExportException("server has no export named '" + export + "'");
		}
		Export.ClientListener clients = target.listeners.get(export);
		Connection connection = new Connection(target, export, device);
		if (clients != null) {
			connection.departure = clients.arrived(() -> connection.abort("disconnected by the server"));
		}
		return connection;
	}

	/**
	 * A connection: runs each request at once on the caller's thread, and fails once
	 * severed or once the export it was opened on is gone.
	 */
	private final class Connection implements RemoteDisk {

		private final InProcessEngine target;

		private final String export;

		private final BlockDevice device;

		private volatile Export.ClientListener.Departure departure = (clean) -> {
		};

		private volatile boolean closed;

		Connection(InProcessEngine target, String export, BlockDevice device) {
			this.target = target;
			this.export = export;
			this.device = device;
		}

		private CompletableFuture<Void> run(IoAction action) {
			try {
				if (this.closed || InProcessEngine.this.severed
						|| this.target.exports.get(this.export) != this.device) {
					throw new IOException("Connection reset by peer");
				}
				action.run(this.device);
				return CompletableFuture.completedFuture(null);
			}
			catch (IOException | RuntimeException ex) {
				return CompletableFuture.failedFuture(ex);
			}
		}

		@Override
		public long size() {
			return this.device.size();
		}

		@Override
		public String description() {
			return this.target.descriptions.getOrDefault(this.export, "");
		}

		@Override
		public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
			return run((device) -> device.read(offset, dst));
		}

		@Override
		public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
			ByteBuffer data = src.duplicate();
			return run((device) -> device.write(offset, data, fua));
		}

		@Override
		public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fua) {
			return run((device) -> device.writeZeroes(offset, length, mayTrim, fua));
		}

		@Override
		public CompletableFuture<Void> flush() {
			return run(BlockDevice::flush);
		}

		@Override
		public void close() {
			leave(true);
		}

		@Override
		public void abort(String reason) {
			// Requests run on the caller's thread: none is left in flight.
			leave(false);
		}

		private void leave(boolean clean) {
			if (!this.closed) {
				this.closed = true;
				this.departure.left(clean);
			}
		}

	}

	@FunctionalInterface
	private interface IoAction {

		void run(BlockDevice device) throws IOException;

	}

}
