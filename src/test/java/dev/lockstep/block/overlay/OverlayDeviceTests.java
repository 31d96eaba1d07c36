package dev.lockstep.block.overlay;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.lockstep.block.TestBytes.fill;
import static dev.lockstep.block.TestBytes.random;
import static dev.lockstep.block.TestBytes.read;
import static org.assertj.core.api.Assertions.assertThat;

class OverlayDeviceTests {

	private static final int SIZE = 1024 * 1024;

	@TempDir
	Path dir;

	@Test
	void readsFallThroughWhereTheOverlayHasNoCluster() throws Exception {
		byte[] content = random(SIZE, 1);
		MemoryDevice base = new MemoryDevice(content);
		try (OverlayDevice device = new OverlayDevice(new ClusterOverlay(this.dir.resolve("o"), SIZE), base)) {
			assertThat(read(device, 0, SIZE)).isEqualTo(content);
			assertThat(device.overlay().allocatedClusters()).isZero();
		}
	}

	@Test
	void partialWriteCopiesTheRestOfTheClusterUp() throws Exception {
		byte[] content = random(SIZE, 2);
		MemoryDevice base = new MemoryDevice(content);
		try (OverlayDevice device = new OverlayDevice(new ClusterOverlay(this.dir.resolve("o"), SIZE), base)) {
			byte[] expected = content.clone();
			write(device, expected, 70_000, fill(1000, 0x22));
			write(device, expected, 65_000, fill(2000, 0x33));
			assertThat(read(device, 0, SIZE)).isEqualTo(expected);
			assertThat(base.snapshot()).isEqualTo(content);
			assertThat(device.overlay().sortedClusters()).containsExactly(0, 1);
			assertThat(device.overlay().storedBytes()).isEqualTo(2 * ClusterOverlay.CLUSTER_SIZE);
		}
	}

	@Test
	void zeroesAreStoredWithoutData() throws Exception {
		byte[] content = random(SIZE, 3);
		MemoryDevice base = new MemoryDevice(content);
		try (OverlayDevice device = new OverlayDevice(new ClusterOverlay(this.dir.resolve("o"), SIZE), base)) {
			byte[] expected = content.clone();
			device.writeZeroes(65536, 3 * 65536 + 100, false, false);
			Arrays.fill(expected, 65536, 4 * 65536 + 100, (byte) 0);
			device.trim(0, 10, false);
			Arrays.fill(expected, 0, 10, (byte) 0);
			assertThat(read(device, 0, SIZE)).isEqualTo(expected);
			assertThat(device.overlay().isZero(1)).isTrue();
			assertThat(device.overlay().isZero(4)).isFalse();
			// clusters 0 and 4 are partial, so they hold data
			assertThat(device.overlay().storedBytes()).isEqualTo(2 * ClusterOverlay.CLUSTER_SIZE);
		}
	}

	@Test
	void makeEmptyDropsEverythingAndShrinksTheFileToTheLargestRecentIntervalWhenItUsedLessThanHalf() throws Exception {
		byte[] content = random(SIZE, 4);
		MemoryDevice base = new MemoryDevice(content);
		Path file = this.dir.resolve("o");
		try (OverlayDevice device = new OverlayDevice(new ClusterOverlay(file, SIZE), base)) {
			write(device, content.clone(), 0, fill(SIZE, 0x44));
			assertThat(Files.size(file)).isEqualTo(SIZE);
			device.overlay().makeEmpty();
			assertThat(device.overlay().allocatedClusters()).isZero();
			assertThat(device.overlay().storedBytes()).isZero();
			assertThat(read(device, 0, SIZE)).isEqualTo(content);
			// The next interval reuses the slots from the start of the file.
			byte[] expected = content.clone();
			write(device, expected, 5, fill(10, 0x55));
			assertThat(read(device, 0, SIZE)).isEqualTo(expected);
			assertThat(Files.size(file)).isEqualTo(SIZE);
			// Quiet intervals keep room for the burst while it is among the last eight.
			for (int i = 2; i < ClusterOverlay.KEPT_INTERVALS; i++) {
				device.overlay().makeEmpty();
				assertThat(Files.size(file)).isEqualTo(SIZE);
			}
			assertThat(read(device, 0, SIZE)).isEqualTo(content);
			// Then the file shrinks to the largest recent interval (one slot), then to
			// none.
			device.overlay().makeEmpty();
			device.overlay().makeEmpty();
			assertThat(Files.size(file)).isEqualTo(ClusterOverlay.CLUSTER_SIZE);
			device.overlay().makeEmpty();
			assertThat(Files.size(file)).isZero();
			assertThat(read(device, 0, SIZE)).isEqualTo(content);
			// An interval that used more than half of the file leaves it as it is:
			// intervals of about the same size do not truncate at every checkpoint.
			write(device, content.clone(), 0, fill(SIZE, 0x66));
			device.overlay().makeEmpty();
			write(device, content.clone(), 0, fill(SIZE / 2 + 1, 0x77));
			device.overlay().makeEmpty();
			assertThat(Files.size(file)).isEqualTo(SIZE);
			int lessThanHalf = SIZE / 2 - ClusterOverlay.CLUSTER_SIZE;
			for (int i = 0; i < ClusterOverlay.KEPT_INTERVALS; i++) {
				write(device, content.clone(), 0, fill(lessThanHalf, 0x77));
				device.overlay().makeEmpty();
			}
			assertThat(Files.size(file)).isEqualTo(lessThanHalf);
			assertThat(read(device, 0, SIZE)).isEqualTo(content);
		}
		assertThat(file).doesNotExist();
	}

	@Test
	void lastClusterMayBeShort() throws Exception {
		int size = 3 * 65536 + 4096;
		byte[] content = random(size, 5);
		try (OverlayDevice device = new OverlayDevice(new ClusterOverlay(this.dir.resolve("o"), size),
				new MemoryDevice(content))) {
			byte[] expected = content.clone();
			write(device, expected, size - 100, fill(100, 0x66));
			device.writeZeroes(3 * 65536, 4096, false, false);
			Arrays.fill(expected, 3 * 65536, size, (byte) 0);
			assertThat(read(device, 0, size)).isEqualTo(expected);
		}
	}

	@Test
	void allocationReportsOverlayClustersAsData() throws Exception {
		try (OverlayDevice device = new OverlayDevice(new ClusterOverlay(this.dir.resolve("o"), SIZE),
				new MemoryDevice(SIZE))) {
			device.writeZeroes(0, 65536, true, false);
			device.write(65536, ByteBuffer.wrap(fill(10, 1)), false);
			var extents = device.allocation(0, 3 * 65536);
			assertThat(extents.get(0)).isEqualTo(new dev.lockstep.block.BlockDevice.Extent(65536, false, true));
			assertThat(extents.get(1)).isEqualTo(new dev.lockstep.block.BlockDevice.Extent(2 * 65536, false, false));
			assertThat(extents.stream().mapToLong(dev.lockstep.block.BlockDevice.Extent::length).sum())
				.isEqualTo(3 * 65536);
		}
	}

	static void write(dev.lockstep.block.BlockDevice device, byte[] model, int offset, byte[] data) throws Exception {
		device.write(offset, ByteBuffer.wrap(data), false);
		System.arraycopy(data, 0, model, offset, data.length);
	}

	@Test
	void anInterruptedWriterLeavesTheOverlayOpenAndItsDataIntact() throws Exception {
		byte[] content = random(SIZE, 9);
		byte[] data = random(3 * ClusterOverlay.CLUSTER_SIZE, 10);
		try (OverlayDevice device = new OverlayDevice(new ClusterOverlay(this.dir.resolve("o"), SIZE),
				new MemoryDevice(content))) {
			Thread.currentThread().interrupt();
			try {
				device.write(ClusterOverlay.CLUSTER_SIZE, ByteBuffer.wrap(data), false);
				assertThat(Thread.currentThread().isInterrupted()).as("interrupt status after the write").isTrue();
			}
			finally {
				Thread.interrupted();
			}
			System.arraycopy(data, 0, content, ClusterOverlay.CLUSTER_SIZE, data.length);
			assertThat(read(device, 0, SIZE)).isEqualTo(content);
			assertThat(device.overlay().allocatedClusters()).isEqualTo(3);
		}
	}

}
