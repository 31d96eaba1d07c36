package dev.lockstep.api;

import java.util.List;
import java.util.Optional;

import dev.lockstep.block.Disk;
import dev.lockstep.block.DiskEngine;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Lists the disks served over NBD. With the disk engine switched off the list is empty.
 */
@RestController
@RequestMapping(path = "/api/v1/disks", produces = MediaType.APPLICATION_JSON_VALUE)
@Tag(name = "disks", description = "The disks served over NBD")
@SecurityRequirement(name = OpenApiConfiguration.BEARER)
class DiskController {

	private final ObjectProvider<DiskEngine> engine;

	DiskController(ObjectProvider<DiskEngine> engine) {
		this.engine = engine;
	}

	@GetMapping
	@Operation(summary = "List the disks with their export URLs, clients and counters")
	@ApiProblems.Query
	List<DiskView> disks() {
		DiskEngine diskEngine = this.engine.getIfAvailable();
		if (diskEngine == null) {
			return List.of();
		}
		return diskEngine.disks().stream().map((disk) -> DiskView.of(disk, diskEngine.exportUrl(disk.name()))).toList();
	}

	@GetMapping("/{name}")
	@Operation(summary = "Show one disk")
	@ApiProblems.NotFound
	DiskView disk(@PathVariable String name) {
		DiskEngine diskEngine = this.engine.getIfAvailable();
		Optional<Disk> disk = (diskEngine != null) ? diskEngine.disk(name) : Optional.empty();
		if (diskEngine == null || disk.isEmpty()) {
			throw new NotFoundException("No disk named '" + name + "'; see GET /api/v1/disks");
		}
		return DiskView.of(disk.get(), diskEngine.exportUrl(disk.get().name()));
	}

}
