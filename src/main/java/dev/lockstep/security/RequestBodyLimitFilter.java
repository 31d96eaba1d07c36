package dev.lockstep.security;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;

import dev.lockstep.api.ProblemDetailWriter;
import dev.lockstep.api.RequestBodyTooLargeException;

import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses request bodies larger than a limit with {@code 413}: at once when the declared
 * {@code Content-Length} is too large, and as soon as a chunked body passes the limit
 * while it is read. A chunked body that passes the limit throws
 * {@link RequestBodyTooLargeException} to its reader, which the API answers with
 * {@code 413} too.
 */
final class RequestBodyLimitFilter extends OncePerRequestFilter {

	private final long limit;

	RequestBodyLimitFilter(long limit) {
		this.limit = limit;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		if (request.getContentLengthLong() > this.limit) {
			reject(response);
			return;
		}
		LimitedRequest limited = new LimitedRequest(request, this.limit);
		try {
			chain.doFilter(limited, response);
		}
		catch (ServletException | RuntimeException ex) {
			if (!limited.exceeded || response.isCommitted()) {
				throw ex;
			}
			response.reset();
			reject(response);
			return;
		}
		if (limited.exceeded && !response.isCommitted()) {
			response.reset();
			reject(response);
		}
	}

	private void reject(HttpServletResponse response) throws IOException {
		response.setHeader("Connection", "close");
		ProblemDetailWriter.write(response, HttpStatus.CONTENT_TOO_LARGE,
				RequestBodyTooLargeException.detail(this.limit));
	}

	private static final class LimitedRequest extends HttpServletRequestWrapper {

		private final long limit;

		private boolean exceeded;

		private @Nullable ServletInputStream stream;

		LimitedRequest(HttpServletRequest request, long limit) {
			super(request);
			this.limit = limit;
		}

		@Override
		public ServletInputStream getInputStream() throws IOException {
			if (this.stream == null) {
				this.stream = new LimitedStream(super.getInputStream());
			}
			return this.stream;
		}

		private final class LimitedStream extends ServletInputStream {

			private final ServletInputStream delegate;

			private long read;

			LimitedStream(ServletInputStream delegate) {
				this.delegate = delegate;
			}

			@Override
			public int read() throws IOException {
				int value = this.delegate.read();
				if (value >= 0) {
					count(1);
				}
				return value;
			}

			@Override
			public int read(byte[] buffer, int offset, int length) throws IOException {
				int n = this.delegate.read(buffer, offset, length);
				if (n > 0) {
					count(n);
				}
				return n;
			}

			private void count(int n) throws IOException {
				this.read += n;
				if (this.read > LimitedRequest.this.limit) {
					LimitedRequest.this.exceeded = true;
					throw new RequestBodyTooLargeException(LimitedRequest.this.limit);
				}
			}

			@Override
			public boolean isFinished() {
				return this.delegate.isFinished();
			}

			@Override
			public boolean isReady() {
				return this.delegate.isReady();
			}

			@Override
			public void setReadListener(ReadListener listener) {
				this.delegate.setReadListener(listener);
			}

		}

	}

}
