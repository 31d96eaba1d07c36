package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.replicated.primary.RemoteDisk;

/**
 * What block replication needs from the disk engine: its disks, control over the exports
 * of the NBD server, and connections to a peer's exports.
 */
public interface BlockEngineAccess {

	/** Returns the engine's disks. */
	List<EngineDisk> disks();

	/**
	 * Puts {@code device} behind the export of a disk, in place of the device there now,
	 * once the requests in flight on the export have finished.
	 */
	void replaceDevice(String export, BlockDevice device) throws IOException;

	/**
	 * Adds an export.
	 * @param inOrder whether each connection's requests are processed one at a time, in
	 * order (see {@link dev.lockstep.block.Export#processInOrder()})
	 * @param clients told when clients select the export and leave it, or null
	 */
	void addExport(String name, BlockDevice device, boolean readOnly, boolean inOrder, String description,
			Export.@Nullable ClientListener clients) throws IOException;

	/** Removes an export if it exists and disconnects its clients. */
	void removeExport(String name);

	/**
	 * Connects to {@code export} on the NBD server at {@code peer}
	 * ({@code nbd://host:port}) over a connection that pipelines requests.
	 * @throws NoSuchExportException if the peer does not serve that export
	 * @throws IOException if the peer cannot be reached
	 */
	RemoteDisk connect(URI peer, String export) throws IOException;

	/**
	 * One disk of the engine.
	 *
	 * @param name the disk's name, also the name of its export
	 * @param image the path of its image file; overlays are created beside it
	 * @param device the image itself
	 */
	record EngineDisk(String name, Path image, BlockDevice device) {
	}

	/** The peer's NBD server does not serve the requested export. */
	final class NoSuchExportException extends IOException {

		private static final long serialVersionUID = 1L;

		public NoSuchExportException(String message) {
			super(message);
		}

	}

}
