package dev.lockstep.page;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;

import dev.lockstep.api.ProblemDetailWriter;

/**
 * Serves the status page and its scripts with a strict Content-Security-Policy: the page
 * runs only its own scripts and styles from this origin (no inline code, nothing from
 * elsewhere), and may only call this origin. Swagger UI and the API keep their own
 * headers. A request for {@code /} that is not a read, or that does not accept HTML, gets
 * a problem that says where the JSON is.
 */
final class PageHeadersFilter extends OncePerRequestFilter {

	static final String POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
			+ "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

	@Override
	protected boolean shouldNotFilter(HttpServletRequest request) {
		String path = request.getRequestURI().substring(request.getContextPath().length());
		return !(path.equals("/") || path.equals("/index.html") || path.startsWith("/status/"));
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		response.setHeader("Content-Security-Policy", POLICY);
		response.setHeader("Referrer-Policy", "no-referrer");
		String path = request.getRequestURI().substring(request.getContextPath().length());
		if (path.equals("/")) {
			if (!HttpMethod.GET.matches(request.getMethod()) && !HttpMethod.HEAD.matches(request.getMethod())) {
				response.setHeader(HttpHeaders.ALLOW, "GET, HEAD");
				ProblemDetailWriter.write(response, HttpStatus.METHOD_NOT_ALLOWED,
						"The status page at / can only be read (GET); the API is under /api/v1");
				return;
			}
			if (!acceptsHtml(request.getHeader(HttpHeaders.ACCEPT))) {
				ProblemDetailWriter.write(response, HttpStatus.NOT_ACCEPTABLE,
						"The status page at / is HTML: accept text/html, or read the node as JSON at "
								+ "/api/v1/replication");
				return;
			}
		}
		chain.doFilter(request, response);
	}

	private static boolean acceptsHtml(@Nullable String accept) {
		if (accept == null || accept.isBlank()) {
			return true;
		}
		try {
			return MediaType.parseMediaTypes(accept)
				.stream()
				.anyMatch((type) -> type.isCompatibleWith(MediaType.TEXT_HTML));
		}
		catch (InvalidMediaTypeException ex) {
			return false;
		}
	}

}
