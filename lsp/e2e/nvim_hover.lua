-- Drives `tracetriage lsp` from Neovim's built-in LSP client, headless.
-- Inputs come from the environment; the results are written as JSON to
-- TT_OUT for the Go test to check. Works with Neovim 0.7 (Debian 12) and
-- later: vim.lsp.start_client + buf_attach_client rather than vim.lsp.start.
local env = vim.env
local out = {}

local function finish()
  local f = io.open(env.TT_OUT, 'w')
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd('qa!')
end

local function main()
  vim.cmd('edit ' .. vim.fn.fnameescape(env.TT_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  local initialized = false
  local client_id = vim.lsp.start_client({
    name = 'tracetriage',
    cmd = { env.TT_BIN, 'lsp', '-poll', '200ms' },
    root_dir = env.TT_ROOT,
    workspace_folders = { { uri = vim.uri_from_fname(env.TT_ROOT), name = 'ws' } },
    init_options = { tracetriage = { trace = env.TT_TRACE } },
    on_init = function() initialized = true end,
  })
  if not client_id then
    out.error = 'start_client failed'
    return
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
  if not vim.wait(10000, function() return initialized end, 50) then
    out.error = 'server did not initialize'
    return
  end
  out.filetype = vim.bo[bufnr].filetype
  local line = tonumber(env.TT_LINE) -- 0-based
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = line, character = 2 },
  }
  -- The first analysis runs in the background: ask until it answers.
  local deadline = vim.loop.now() + 20000
  while vim.loop.now() < deadline do
    local res = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', params, 5000)
    local r = res and res[client_id]
    if r and r.result and r.result.contents then
      out.hover = r.result.contents.value or r.result.contents
      break
    end
    vim.wait(100)
  end
  local lens = vim.lsp.buf_request_sync(bufnr, 'textDocument/codeLens',
    { textDocument = params.textDocument }, 5000)
  if lens and lens[client_id] then out.codelens = lens[client_id].result end
  local hints = vim.lsp.buf_request_sync(bufnr, 'textDocument/inlayHint', {
    textDocument = params.textDocument,
    range = { start = { line = 0, character = 0 }, ['end'] = { line = line + 1, character = 0 } },
  }, 5000)
  if hints and hints[client_id] then out.inlay_hints = hints[client_id].result end
  vim.wait(5000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50)
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out.diagnostics, { lnum = d.lnum, severity = d.severity, message = d.message, source = d.source })
  end
  vim.lsp.stop_client(client_id)
  vim.wait(2000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
end

local ok, err = pcall(main)
if not ok then out.error = tostring(err) end
finish()
