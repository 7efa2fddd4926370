// placeholder so the package builds while the module is being written; delete when a real file exists
