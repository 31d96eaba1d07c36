package dev.lockstep.block;

import java.nio.file.Path;

import dev.lockstep.block.file.FileBlockDevice;

/**
 * A configured disk as served by the {@link DiskEngine}: its image, the file device on it
 * and its export.
 *
 * @param name the disk (and export) name
 * @param image the file device on the disk's image
 * @param export the export that serves it; its device may be a layer over {@code image}
 */
public record Disk(String name, FileBlockDevice image, Export export) {

	public Path path() {
		return this.image.path();
	}

	public long size() {
		return this.image.size();
	}

	public long allocatedBytes() {
		return this.image.allocatedBytes();
	}

	public boolean readOnly() {
		return this.export.readOnly();
	}

}
