package dev.lockstep.block;

import java.net.InetAddress;
import java.util.Collection;
import java.util.HashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

import org.jspecify.annotations.Nullable;

/**
 * A named, exported {@link BlockDevice}. The device behind an export can be replaced at
 * runtime, e.g. by a wrapper that forwards writes or stacks overlays: {@link #swapDevice}
 * waits until no request is running on the export, so when it returns, every later
 * request sees only the new device.
 *
 * <p>
 * The NBD server runs each request inside {@link #enter()} / {@link Ticket#close()},
 * which is what the swap waits for.
 */
public final class Export {

	private final String name;

	private final String description;

	private final boolean readOnly;

	private final ExportStats stats = new ExportStats();

	private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();

	private volatile BlockDevice device;

	private volatile boolean removed;

	private volatile Predicate<InetAddress> clients = (address) -> true;

	private volatile boolean inOrder;

	private volatile boolean tlsOnly;

	private volatile @Nullable Set<String> peerNames;

	private volatile @Nullable ClientListener listener;

	Export(String name, BlockDevice device, boolean readOnly, @Nullable String description) {
		this.name = Objects.requireNonNull(name, "name");
		this.device = Objects.requireNonNull(device, "device");
		this.readOnly = readOnly || device.readOnly();
		this.description = (description != null) ? description : "";
	}

	public String name() {
		return this.name;
	}

	public String description() {
		return this.description;
	}

	/**
	 * Returns whether clients see the export as read-only (set at creation or because the
	 * device is read-only now: a replicated disk is read-only while it is a mirror
	 * secondary).
	 */
	public boolean readOnly() {
		return this.readOnly || this.device.readOnly();
	}

	/** The device currently behind the export. */
	public BlockDevice device() {
		return this.device;
	}

	public ExportStats stats() {
		return this.stats;
	}

	/**
	 * Restricts which client addresses may select this export; by default any client may.
	 */
	public void restrictClients(Predicate<InetAddress> clients) {
		this.clients = Objects.requireNonNull(clients, "clients");
	}

	/** Whether a client at {@code address} may select this export. */
	public boolean admits(InetAddress address) {
		return this.clients.test(address);
	}

	/**
	 * Makes the export reachable only over TLS: a plaintext client is told to start TLS
	 * first.
	 */
	public void requireTls() {
		this.tlsOnly = true;
	}

	/** Whether the export is reachable only over TLS. */
	public boolean tlsOnly() {
		return this.tlsOnly;
	}

	/**
	 * Admits only TLS clients whose certificate names one of {@code names} among its
	 * subject alternative names (DNS names compared without regard to case, IP addresses
	 * exactly); implies {@link #requireTls()}. An empty set lifts the restriction.
	 * @param names the accepted names
	 */
	public void restrictPeerNames(Set<String> names) {
		if (names.isEmpty()) {
			this.peerNames = null;
			return;
		}
		Set<String> accepted = new HashSet<>();
		for (String name : names) {
			accepted.add(name.toLowerCase(Locale.ROOT));
		}
		this.peerNames = Set.copyOf(accepted);
		this.tlsOnly = true;
	}

	/** Whether the export accepts only clients whose certificates name them. */
	public boolean restrictsPeerNames() {
		return this.peerNames != null;
	}

	/**
	 * Whether a client whose verified certificate has these subject alternative names may
	 * select this export.
	 * @param certificateNames the names, or {@code null} for a client without a
	 * certificate
	 * @return whether it may
	 */
	public boolean admitsPeerNames(@Nullable Collection<String> certificateNames) {
		Set<String> accepted = this.peerNames;
		if (accepted == null) {
			return true;
		}
		if (certificateNames == null) {
			return false;
		}
		for (String name : certificateNames) {
			if (accepted.contains(name.toLowerCase(Locale.ROOT))) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Makes the NBD server process the requests of each connection to this export one at
	 * a time, in the order they arrive, on one thread. That suits an export whose
	 * requests are short and come pipelined from a single client, such as a replica
	 * receiving forwarded writes: it spares a hand-over between threads for every
	 * request, and the requests that queue up meanwhile are read in one go.
	 */
	public void processInOrder() {
		this.inOrder = true;
	}

	/** Tells {@code listener} when clients select this export and when they leave it. */
	public void listen(ClientListener listener) {
		this.listener = listener;
	}

	/**
	 * Called by the server when a client has selected this export; returns what to call,
	 * once, when that client is gone.
	 * @param disconnect closes that client's connection
	 */
	public ClientListener.Departure clientArrived(Runnable disconnect) {
		ClientListener current = this.listener;
		return (current != null) ? current.arrived(disconnect) : NO_DEPARTURE;
	}

	private static final ClientListener.Departure NO_DEPARTURE = (clean) -> {
	};

	/** Whether requests on this export are processed one at a time, in order. */
	public boolean inOrder() {
		return this.inOrder;
	}

	/** Whether the export has been removed from its registry. */
	public boolean removed() {
		return this.removed;
	}

	/**
	 * Follows the clients of an export. Called on the server's threads; must not block.
	 */
	public interface ClientListener {

		/**
		 * A client has selected the export. Returns what the server calls when this
		 * client, and no other, is gone.
		 * @param disconnect closes this client's connection (its departure then follows,
		 * as not clean); it does not block
		 */
		Departure arrived(Runnable disconnect);

		/** The end of one client's use of the export. */
		@FunctionalInterface
		interface Departure {

			/**
			 * The client is gone: {@code clean} if it asked to disconnect
			 * ({@code NBD_CMD_DISC}), false if its connection broke or was closed under
			 * it.
			 */
			void left(boolean clean);

		}

	}

	/**
	 * Replaces the device behind the export. New requests wait while {@code wrap} runs,
	 * and it runs only once every request already running has finished, so it may also
	 * change state under the old device (e.g. commit an overlay). The new device must
	 * have the same size.
	 * @param wrap maps the current device to its replacement (e.g. a wrapper of it)
	 * @return the device that was replaced
	 */
	public BlockDevice swapDevice(UnaryOperator<BlockDevice> wrap) {
		this.gate.writeLock().lock();
		try {
			BlockDevice current = this.device;
			BlockDevice replacement = Objects.requireNonNull(wrap.apply(current), "replacement device");
			if (replacement.size() != current.size()) {
				throw new IllegalArgumentException("Replacement device for export '" + this.name + "' has size "
						+ replacement.size() + ", expected " + current.size());
			}
			this.device = replacement;
			return current;
		}
		finally {
			this.gate.writeLock().unlock();
		}
	}

	/**
	 * Runs {@code action} while no request runs on this export; requests that arrive
	 * meanwhile wait.
	 */
	public <T> T quiesced(Callable<T> action) throws Exception {
		this.gate.writeLock().lock();
		try {
			return action.call();
		}
		finally {
			this.gate.writeLock().unlock();
		}
	}

	/**
	 * Enters the export for one request and returns the device to use for it. The ticket
	 * must be closed when the request is done, on the thread that entered.
	 */
	public Ticket enter() {
		this.gate.readLock().lock();
		return new Ticket(this.device);
	}

	void markRemoved() {
		this.removed = true;
	}

	@Override
	public String toString() {
		return "Export[" + this.name + (this.readOnly ? ", read-only" : "") + ", " + this.device + "]";
	}

	/**
	 * A request's hold on an export; closing it lets device swaps proceed.
	 */
	public final class Ticket implements AutoCloseable {

		private final BlockDevice device;

		private boolean closed;

		private Ticket(BlockDevice device) {
			this.device = device;
		}

		public BlockDevice device() {
			return this.device;
		}

		@Override
		public void close() {
			if (!this.closed) {
				this.closed = true;
				Export.this.gate.readLock().unlock();
			}
		}

	}

}
