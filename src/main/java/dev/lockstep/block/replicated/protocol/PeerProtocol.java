package dev.lockstep.block.replicated.protocol;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * The protocol between the primary and the secondary of a disk: plain NBD (the fixed
 * newstyle handshake, structured replies optional), with the conventions below on top.
 * Nothing is added to the wire; an implementation of either side needs only an NBD client
 * or server and these rules. The secondary is the NBD server, the primary its only
 * client. The orchestrator calls each node's lifecycle on its own; nothing of the
 * lifecycle itself crosses this link.
 *
 * <h2>Exports</h2> While a disk {@code D} is secondary, its node serves two exports
 * beside {@code D} itself (which serves the secondary's own workload):
 * <ul>
 * <li>{@code D.replica} ({@link #replicaExport}), writable, the size of the disk. Its
 * description ({@code NBD_INFO_DESCRIPTION}) ends in {@code (colo)} or {@code (mirror)},
 * the secondary's {@link ReplicationKind} ({@link #replicaDescription}, {@link #kindOf}).
 * Requests of one connection are applied in the order they arrive. When the secondary
 * knows its peer, only the peer's addresses may select it.</li>
 * <li>{@code D.replica.sha256} ({@link #hashesExport}), read-only: bytes
 * {@code [32 i, 32 i + 32)} are the SHA-256 of chunk {@code i} ({@link #CHUNK_SIZE}
 * bytes, the last one possibly shorter) of the secondary's base image; its size is
 * {@link #hashesSize} (rounded up to 4 KiB, the padding reads as zeroes).</li>
 * <li>{@code D.replica.verify} ({@link #verifyExport}), read-only: the same bytes as
 * {@code D.replica.sha256}, for a primary's online verify while replication runs.
 * Selecting it starts nothing and a {@code NBD_CMD_FLUSH} on it completes nothing: a
 * verify never changes what the secondary accepts.</li>
 * <li>{@code D.replica.lineage} ({@link #lineageExport}): the secondary's data lineage of
 * the disk (its generations, the chunks it changed since the nodes last agreed and the
 * chunks a crash left in doubt; see {@code LineageView} for the layout). The first 4 KiB
 * are writable: a synchronising primary writes its own generation there
 * ({@code offer=<id>@<time>}), which the secondary takes when the synchronisation
 * completes.</li>
 * </ul>
 * Neither export exists while the disk is not secondary: a primary that finds
 * {@code D.replica} missing from {@code NBD_OPT_LIST} knows that the other node has not
 * been started as secondary.
 *
 * <h2>Start of a primary</h2>
 * <ol>
 * <li>The primary lists the exports ({@code NBD_OPT_LIST}), then selects
 * {@code D.replica} ({@code NBD_OPT_GO}). It refuses to go on if the export's size
 * differs from its disk's or if the description names another kind than its own.</li>
 * <li>It reads {@code D.replica.lineage} and compares the secondary's lineage with its
 * own. If synchronising would discard changes that only the operator may discard (a split
 * brain, a secondary with newer data), it disconnects from {@code D.replica} with
 * {@code NBD_CMD_DISC} and goes no further: nothing on the secondary has changed. The
 * comparison also decides which chunks the synchronisation copies outright, which it
 * compares by hash and which it leaves alone.</li>
 * <li>It then selects {@code D.replica.sha256} on a second connection. <b>Selecting the
 * hash export starts a synchronisation</b>: from then on until its completion the
 * secondary's base is partly its old data and partly the primary's, and a {@code colo}
 * secondary refuses checkpoints. The secondary also closes every connection to
 * {@code D.replica} but the newest, which is the synchronising primary's (it connected
 * there first); older ones are left over from a primary cut off earlier.</li>
 * <li>The primary forwards its clients' writes (below) from now on, and meanwhile reads
 * the hashes, compares them with its own chunks and writes each chunk that differs (or
 * that it marked dirty) to {@code D.replica}, with {@code NBD_CMD_WRITE}, or
 * {@code NBD_CMD_WRITE_ZEROES} for a chunk of zeroes.</li>
 * <li>It writes its generation to {@code D.replica.lineage} and flushes it.</li>
 * <li><b>A {@code NBD_CMD_FLUSH} on {@code D.replica.sha256} completes the
 * synchronisation</b>: the primary sends it once every differing chunk has been written
 * and acknowledged, and only then. The secondary flushes its base, takes the offered
 * generation as its own and as the one both nodes agree on, saves that, and only then
 * replies; it then accepts checkpoints again. The primary then closes the hash
 * connection.</li>
 * </ol>
 *
 * <h2>Forwarding</h2> Every write, write-zeroes and trim of the primary's clients is sent
 * to {@code D.replica} at the same offset while it is applied locally, and is
 * acknowledged to the client once both are done. Trims are sent as
 * {@code NBD_CMD_WRITE_ZEROES} that may deallocate, so both disks stay byte-identical.
 * Writes to overlapping regions are sent in the order they are applied locally. A client
 * flush is sent as {@code NBD_CMD_FLUSH}. The primary's checkpoint sends
 * {@code NBD_CMD_FLUSH} and requires its success. While idle the primary probes the
 * secondary every few seconds with a read of {@link #PROBE_SIZE} bytes at offset 0. That
 * probe is also the primary's keepalive: a secondary that hears nothing on
 * {@code D.replica} for longer than the probe interval plus the forward timeout counts
 * its primary as lost, so both nodes must use the same two settings. A request without a
 * reply within the forward timeout ends forwarding: the primary aborts the connection and
 * tracks what changes for the next synchronisation.
 *
 * <h2>End of a connection to {@code D.replica}</h2> The secondary tells two endings apart
 * ({@link #departure}):
 * <ul>
 * <li>{@link Departure#PLANNED_STOP}: the primary sent {@code NBD_CMD_DISC}. It does so
 * only when it stops on purpose, after a successful {@code NBD_CMD_FLUSH} with nothing in
 * flight: the secondary holds every write it acknowledged.</li>
 * <li>{@link Departure#LOSS}: the connection broke or was closed without
 * {@code NBD_CMD_DISC} (the primary died, was cut off, or gave up on a slow secondary).
 * The base may hold writes the primary made after its last checkpoint, in any subset of
 * those in flight, so a {@code colo} secondary refuses checkpoints until a later
 * synchronisation completes; a new connection alone does not lift that.</li>
 * </ul>
 */
public final class PeerProtocol {

	/** Suffix of the export that takes the primary's writes on a secondary. */
	public static final String REPLICA_SUFFIX = ".replica";

	/** Suffix of the export of chunk hashes on a secondary. */
	public static final String HASHES_SUFFIX = ".replica.sha256";

	/** Suffix of the export of the same chunk hashes, read by an online verify. */
	public static final String VERIFY_SUFFIX = ".replica.verify";

	/** Suffix of the export of a secondary's data lineage. */
	public static final String LINEAGE_SUFFIX = ".replica.lineage";

	/** The unit of comparison and copying in a synchronisation: 1 MiB. */
	public static final int CHUNK_SIZE = 1024 * 1024;

	/** {@code log2(CHUNK_SIZE)}. */
	public static final int CHUNK_SHIFT = 20;

	/** The size of one chunk's hash in the hash export: a SHA-256. */
	public static final int HASH_SIZE = 32;

	/** The bytes a primary reads from offset 0 of the replica export to probe it. */
	public static final int PROBE_SIZE = 512;

	private static final Pattern KIND = Pattern.compile("\\((colo|mirror)\\)$");

	private PeerProtocol() {
	}

	/** The name of the export that takes the primary's writes to {@code disk}. */
	public static String replicaExport(String disk) {
		return disk + REPLICA_SUFFIX;
	}

	/** The name of the export of the hashes of {@code disk}'s chunks. */
	public static String hashesExport(String disk) {
		return disk + HASHES_SUFFIX;
	}

	/**
	 * The description of a secondary's replica export, which tells the primary (and
	 * {@code nbdinfo}) which kind of replication it runs.
	 */
	public static String replicaDescription(String disk, ReplicationKind kind) {
		return "replication target of disk " + disk + " (" + kind + ")";
	}

	/** The name of the export of the secondary's data lineage of {@code disk}. */
	public static String lineageExport(String disk) {
		return disk + LINEAGE_SUFFIX;
	}

	/** The description of a lineage export. */
	public static String lineageDescription(String disk) {
		return "data lineage of disk " + disk + " on the secondary";
	}

	/** The name of the export an online verify reads the secondary's hashes from. */
	public static String verifyExport(String disk) {
		return disk + VERIFY_SUFFIX;
	}

	/** The description of a verify export. */
	public static String verifyDescription(String disk) {
		return "SHA-256 of each 1 MiB chunk of disk " + disk + ", for an online verify";
	}

	/** The description of a secondary's hash export, for people only. */
	public static String hashesDescription(String disk) {
		return "SHA-256 of each 1 MiB chunk of disk " + disk;
	}

	/** The kind of replication a replica export's description names, or null. */
	public static @Nullable ReplicationKind kindOf(@Nullable String description) {
		Matcher matcher = KIND.matcher((description != null) ? description : "");
		return matcher.find() ? ReplicationKind.valueOf(matcher.group(1).toUpperCase(Locale.ROOT)) : null;
	}

	/** Returns the number of chunks of a disk of the given size. */
	public static long chunkCount(long diskSize) {
		return (diskSize + CHUNK_SIZE - 1) >>> CHUNK_SHIFT;
	}

	/** Returns the size of the hash export of a disk of the given size. */
	public static long hashesSize(long diskSize) {
		long bytes = chunkCount(diskSize) * HASH_SIZE;
		return (bytes + 4095) & ~4095L;
	}

	/** What the end of a connection to the replica export means. */
	public static Departure departure(boolean clean) {
		return clean ? Departure.PLANNED_STOP : Departure.LOSS;
	}

	/** How a primary's connection to the replica export ended. */
	public enum Departure {

		/**
		 * {@code NBD_CMD_DISC} after a successful flush: the primary stopped on purpose.
		 */
		PLANNED_STOP,

		/** Any other end: the primary was lost. */
		LOSS

	}

}
