package dev.lockstep.block.file;

import org.junit.jupiter.api.Test;

import dev.lockstep.block.BlockDevice.Extent;

import static org.assertj.core.api.Assertions.assertThat;

class AllocationMapTests {

	@Test
	void tracksRangesAcrossWordBoundaries() {
		AllocationMap map = new AllocationMap(200 * 1024 + 100, 1024);
		assertThat(map.blocks()).isEqualTo(201);
		map.setRange(60, 130);
		assertThat(map.allocatedBytes()).isEqualTo(70 * 1024);
		assertThat(map.nextAllocated(0, 201)).isEqualTo(60);
		assertThat(map.nextHole(60, 201)).isEqualTo(130);
		map.clearRange(63, 65);
		assertThat(map.extents(0, 200 * 1024 + 100, 100)).containsExactly(new Extent(60 * 1024, true, true),
				new Extent(3 * 1024, false, false), new Extent(2 * 1024, true, true),
				new Extent(65 * 1024, false, false), new Extent(70 * 1024 + 100, true, true));
		assertThat(map.extents(0, 200 * 1024, 2)).hasSize(2);
	}

	@Test
	void partialLastBlockCountsOnlyItsBytes() {
		AllocationMap map = new AllocationMap(1024 + 100, 1024);
		map.markAllocated(1030, 1);
		assertThat(map.allocatedBytes()).isEqualTo(100);
		assertThat(map.isHole(0, 1024)).isTrue();
		assertThat(map.isHole(0, 1025)).isFalse();
	}

	@Test
	void snapshotAndLoadRoundTrip() {
		AllocationMap map = new AllocationMap(1 << 20, 4096);
		map.markAllocated(5000, 10000);
		AllocationMap copy = new AllocationMap(1 << 20, 4096);
		copy.load(map.snapshot());
		assertThat(copy.allocatedBytes()).isEqualTo(map.allocatedBytes()).isEqualTo(3 * 4096);
		assertThat(copy.extents(0, 1 << 20, 10)).isEqualTo(map.extents(0, 1 << 20, 10));
	}

}
