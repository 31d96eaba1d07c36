package dev.lockstep.block.file;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice.Extent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class FileBlockDeviceTests {

	private static final int MIB = 1024 * 1024;

	private static final int G = FileBlockDevice.GRANULARITY;

	@TempDir
	Path directory;

	private Path image() {
		return this.directory.resolve("disk.img");
	}

	@Test
	void createsSparseImageThatReadsZeroes() throws Exception {
		try (FileBlockDevice device = FileBlockDevice.open(image(), 16 * MIB, false)) {
			assertThat(device.size()).isEqualTo(16 * MIB);
			assertThat(Files.size(image())).isEqualTo(16 * MIB);
			assertThat(device.allocatedBytes()).isZero();
			assertThat(device.allocation(0, 16 * MIB)).containsExactly(new Extent(16 * MIB, true, true));
			ByteBuffer data = ByteBuffer.allocate(4096);
			device.read(MIB, data);
			assertThat(data.position()).isEqualTo(4096);
			assertThat(data.array()).containsOnly(0);
		}
	}

	@Test
	void writesAreReadBackAndMarkedAllocated() throws Exception {
		try (FileBlockDevice device = FileBlockDevice.open(image(), 16 * MIB, false)) {
			device.write(G + 10, ByteBuffer.wrap(new byte[] { 1, 2, 3 }), true);
			ByteBuffer data = ByteBuffer.allocate(5);
			device.read(G + 9, data);
			assertThat(data.array()).containsExactly(0, 1, 2, 3, 0);
			assertThat(device.allocatedBytes()).isEqualTo(G);
			assertThat(device.allocation(0, 4L * G)).containsExactly(new Extent(G, true, true),
					new Extent(G, false, false), new Extent(2L * G, true, true));
			assertThat(device.allocation(G + 100, 10)).containsExactly(new Extent(10, false, false));
		}
	}

	@Test
	void writeZeroesAndTrimTurnWholeBlocksIntoHoles() throws Exception {
		try (FileBlockDevice device = FileBlockDevice.open(image(), 16 * MIB, false)) {
			byte[] ones = new byte[4 * G];
			java.util.Arrays.fill(ones, (byte) 1);
			device.write(0, ByteBuffer.wrap(ones), false);
			// Zero a range that covers block 1 fully and blocks 0 and 2 partly.
			device.writeZeroes(G - 1, G + 2, true, false);
			ByteBuffer data = ByteBuffer.allocate(4 * G);
			device.read(0, data);
			assertThat(data.get(G - 2)).isEqualTo((byte) 1);
			assertThat(data.get(G - 1)).isZero();
			assertThat(data.get(2 * G)).isZero();
			assertThat(data.get(2 * G + 1)).isEqualTo((byte) 1);
			assertThat(device.allocation(0, 4L * G)).containsExactly(new Extent(G, false, false),
					new Extent(G, true, true), new Extent(2L * G, false, false));
			// NO_HOLE keeps blocks allocated.
			device.writeZeroes(2L * G, G, false, false);
			assertThat(device.allocatedBytes()).isEqualTo(3L * G);
			device.trim(0, 4L * G, true);
			assertThat(device.allocatedBytes()).isZero();
			data.clear();
			device.read(0, data);
			assertThat(data.array()).containsOnly(0);
		}
	}

	@Test
	void allocationMapSurvivesCleanCloseAndIsRebuiltWhenStale() throws Exception {
		try (FileBlockDevice device = FileBlockDevice.open(image(), 16 * MIB, false)) {
			device.write(3L * MIB, ByteBuffer.wrap(new byte[100]), false);
			device.write(5L * MIB, ByteBuffer.wrap(new byte[] { 9 }), false);
		}
		Path sidecar = this.directory.resolve("disk.img.allocmap");
		assertThat(sidecar).exists();
		try (FileBlockDevice device = FileBlockDevice.open(image(), 16 * MIB, false)) {
			// Loaded from the sidecar: the all-zero write is still reported as data.
			assertThat(device.allocatedBytes()).isEqualTo(2L * G);
			device.write(7L * MIB, ByteBuffer.wrap(new byte[] { 7 }), false);
			assertThat(sidecar).doesNotExist();
		}
		// Modified behind our back: the sidecar no longer matches and a scan finds the
		// data.
		try (FileChannel channel = FileChannel.open(image(), StandardOpenOption.WRITE)) {
			channel.write(ByteBuffer.wrap(new byte[] { 1 }), 9L * MIB);
		}
		try (FileBlockDevice device = FileBlockDevice.open(image(), 16 * MIB, false)) {
			List<Extent> extents = device.allocation(0, 16L * MIB);
			assertThat(extents.stream().filter((extent) -> !extent.hole()).mapToLong(Extent::length).sum())
				.isEqualTo(3L * G);
			assertThat(device.allocation(9L * MIB, 1).get(0).hole()).isFalse();
			assertThat(device.allocation(3L * MIB, 1).get(0).hole()).isTrue();
		}
	}

	@Test
	void existingImageKeepsItsSize() throws Exception {
		try (FileChannel channel = FileChannel.open(image(), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
			channel.write(ByteBuffer.wrap(new byte[] { 5 }), 3 * MIB - 1);
		}
		try (FileBlockDevice device = FileBlockDevice.open(image(), 16 * MIB, false)) {
			assertThat(device.size()).isEqualTo(3 * MIB);
			assertThat(device.allocatedBytes()).isEqualTo(G);
		}
	}

	@Test
	void imageIsLockedWhileOpen() throws Exception {
		try (FileBlockDevice device = FileBlockDevice.open(image(), MIB, false)) {
			assertThatExceptionOfType(FileBlockDevice.ImageLockedException.class)
				.isThrownBy(() -> FileBlockDevice.open(image(), MIB, false))
				.withMessageContaining("is in use");
		}
		FileBlockDevice.open(image(), MIB, false).close();
	}

	@Test
	void imageLockedByAnotherProcessIsRefused() throws Exception {
		FileBlockDevice.open(image(), MIB, false).close();
		// Another process holding a POSIX (fcntl) lock on the image, as a second Lockstep
		// would.
		Process holder = new ProcessBuilder("python3", "-c",
				"import fcntl,sys,time;f=open(sys.argv[1],'r+');fcntl.lockf(f,fcntl.LOCK_EX);"
						+ "print('locked',flush=True);time.sleep(30)",
				image().toString())
			.redirectErrorStream(true)
			.start();
		try {
			assertThat(new String(holder.getInputStream().readNBytes(6))).isEqualTo("locked");
			assertThatExceptionOfType(FileBlockDevice.ImageLockedException.class)
				.isThrownBy(() -> FileBlockDevice.open(image(), MIB, false))
				.withMessageContaining("another process");
		}
		finally {
			holder.destroy();
			holder.waitFor();
		}
	}

	@Test
	void readOnlyImageMustExistAndRejectsWrites() throws Exception {
		assertThatExceptionOfType(NoSuchFileException.class).isThrownBy(() -> FileBlockDevice.open(image(), MIB, true));
		FileBlockDevice.open(image(), MIB, false).close();
		try (FileBlockDevice device = FileBlockDevice.open(image(), MIB, true)) {
			assertThat(device.readOnly()).isTrue();
			assertThatExceptionOfType(java.io.IOException.class)
				.isThrownBy(() -> device.write(0, ByteBuffer.allocate(1), false));
		}
	}

}
